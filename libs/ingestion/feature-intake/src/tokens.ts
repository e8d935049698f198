export const INGESTION_DB = Symbol('IngestionDataSource');
export const API_KEY_TABLES = Symbol('ApiKeyTables');
export const EVENT_STATUS_TABLES = Symbol('EventStatusTables');
export const EVENT_STATUS_RUNNER = Symbol('EventStatusProjectionRunner');
