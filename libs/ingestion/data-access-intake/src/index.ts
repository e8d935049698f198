export * from './migrations';
export * from './api-key.tables';
