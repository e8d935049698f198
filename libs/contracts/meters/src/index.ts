export * from './meter.v1';
export * from './budget-alert.v1';
export * from './json-path';
export * from './meter-reading';
export * from './billable-usage.v1';
export * from './meter-query.v1';
export * from './value-expression';
export * from './time-weighted';
