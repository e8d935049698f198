export * from './invoicing.module';
export { BillingScheduler } from './billing-scheduler';
