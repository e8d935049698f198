export const INGESTION_DB = Symbol('IngestionDataSource');
export const API_KEY_TABLES = Symbol('ApiKeyTables');
