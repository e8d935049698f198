export * from './migrations';
export * from './registry.tables';
