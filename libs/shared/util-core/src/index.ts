export * from './ids';
export * from './time';
export * from './decider';
export * from './exact-number';
export * from './exact-decimal';
export * from './billing-period';
export * from './sleep';
export * from './errors';
