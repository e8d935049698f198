export * from './attribution.module';
