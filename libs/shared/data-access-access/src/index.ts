export * from './access-store';
