export * from './invoice.v1';
export * from './cost-budget.v1';
