export const ATTRIBUTION_DB = Symbol('AttributionDataSource');
export const REGISTRY_TABLES = Symbol('RegistryTables');
