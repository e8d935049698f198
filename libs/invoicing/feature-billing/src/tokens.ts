export const INVOICING_DB = Symbol('InvoicingDataSource');
export const BILLING_REGISTRY_TABLES = Symbol('BillingRegistryTables');
export const INVOICE_TABLES = Symbol('InvoiceTables');
export const RECONCILIATION_TABLES = Symbol('ReconciliationTables');
export const REGISTRY_RUNNER = Symbol('InvoicingRegistryRunner');
export const INVOICES_RUNNER = Symbol('InvoicingInvoicesRunner');
export const INVOICE_RELAY_RUNNER = Symbol('InvoiceRelayRunner');
export const INVOICE_RATER = Symbol('InvoiceRater');
