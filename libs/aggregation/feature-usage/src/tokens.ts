export const AGGREGATION_DB = Symbol('AggregationDataSource');
export const ROLLUP_TABLES = Symbol('RollupTables');
export const ROLLUP_RUNNER = Symbol('UsageRollupRunner');
export const METER_TABLES = Symbol('MeterTables');
export const METER_CATALOG_RUNNER = Symbol('MeterCatalogRunner');
export const METER_QUERY_TABLES = Symbol('MeterQueryTables');
export const BUDGET_TABLES = Symbol('BudgetTables');
export const BUDGET_RELAY_RUNNER = Symbol('BudgetAlertRelayRunner');
