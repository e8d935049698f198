export const INVOICING_DB = Symbol('InvoicingDataSource');
export const BILLING_REGISTRY_TABLES = Symbol('BillingRegistryTables');
export const INVOICE_TABLES = Symbol('InvoiceTables');
export const RECONCILIATION_TABLES = Symbol('ReconciliationTables');
export const BILLING_RUN_TABLES = Symbol('BillingRunTables');
export const REGISTRY_RUNNER = Symbol('InvoicingRegistryRunner');
export const INVOICES_RUNNER = Symbol('InvoicingInvoicesRunner');
export const STANDINGS_RUNNER = Symbol('InvoicingStandingsRunner');
export const STANDING_TABLES = Symbol('StandingTables');
export const INVOICE_RELAY_RUNNER = Symbol('InvoiceRelayRunner');
export const INVOICE_RATER = Symbol('InvoiceRater');
export const BILLABLE_USAGE = Symbol('BillableUsageClient');
/** The ledger as invoicing's billing writes and reads it: concurrent reads and appends batched (BatchingEventStore). */
export const INVOICE_LEDGER = Symbol('InvoiceLedger');
export const RECONCILIATION_LEDGER = Symbol('ReconciliationLedger');
