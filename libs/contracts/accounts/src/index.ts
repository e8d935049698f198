export * from './account.v1';
