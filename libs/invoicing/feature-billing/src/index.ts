export * from './invoicing.module';
