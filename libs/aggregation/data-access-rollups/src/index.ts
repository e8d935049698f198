export * from './migrations';
export * from './rollup.tables';
