export * from './pg-client';
