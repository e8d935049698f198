export * from './migrations';
export * from './rollup.tables';
export * from './meter.tables';
