export * from './migrations';
export * from './rollup.tables';
export * from './meter.tables';
export * from './meter-query.tables';
export * from './budget.tables';
export * from './meter-hours.tables';
