export * from './migrations';
export * from './api-key.tables';
export * from './event-status.tables';
