export * from './invoicing.module';
export { BillingScheduler } from './billing-scheduler';
export { BillingRunHistory } from './billing-run-history';
