export * from './usage-query';
