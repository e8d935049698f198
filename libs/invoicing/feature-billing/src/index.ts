export * from './invoicing.module';
export { BillingScheduler } from './billing-scheduler';
export { BillingRunHistory } from './billing-run-history';
export { INVOICE_LEDGER } from './tokens';
export { BillableUsageClient } from './billable-usage.client';
