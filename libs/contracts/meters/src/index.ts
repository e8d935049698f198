export * from './meter.v1';
export * from './budget-alert.v1';
