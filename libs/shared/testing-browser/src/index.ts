export * from './browser';
export * from './embedded-platform';
