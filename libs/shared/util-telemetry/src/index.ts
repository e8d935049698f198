export * from './logger';
export * from './telemetry-context';
export * from './propagation';
