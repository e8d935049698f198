export * from './pg-client';
export * from './copy-rows';
