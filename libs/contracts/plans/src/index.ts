export * from './plan.v1';
