export * from './meter.v1';
