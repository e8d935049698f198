export const AGGREGATION_DB = Symbol('AggregationDataSource');
export const ROLLUP_TABLES = Symbol('RollupTables');
export const ROLLUP_RUNNER = Symbol('UsageRollupRunner');
export const METER_TABLES = Symbol('MeterTables');
export const METER_CATALOG_RUNNER = Symbol('MeterCatalogRunner');
export const METER_QUERY_TABLES = Symbol('MeterQueryTables');
export const BUDGET_TABLES = Symbol('BudgetTables');
export const BUDGET_RELAY_RUNNER = Symbol('BudgetAlertRelayRunner');
export const METER_VALUES_TABLES = Symbol('MeterValuesTables');
/** A small pg pool of its own for usage exports: each holds a client (a cursor) while it streams. */
export const EXPORT_POOL = Symbol('UsageExportPool');
