export * from './usage-query';
export * from './json-path';
export * from './meter';
export * from './meter.decider';
export * from './meter-query';
export * from './billing-period';
export * from './budget';
