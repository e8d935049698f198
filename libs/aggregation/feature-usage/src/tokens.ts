export const AGGREGATION_DB = Symbol('AggregationDataSource');
export const ROLLUP_TABLES = Symbol('RollupTables');
export const ROLLUP_RUNNER = Symbol('UsageRollupRunner');
