export * from './migrations';
export * from './billing-registry.tables';
export * from './invoice.tables';
export * from './reconciliation.tables';
export * from './billing-run.tables';
export * from './reconciliation-ledger.tables';
export * from './standing.tables';
