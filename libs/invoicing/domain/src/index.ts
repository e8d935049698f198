export * from './charge';
export * from './money';
export * from './charge.validation';
export * from './rating';
// Billing periods are shared (aggregation cuts usage periods and budgets the same way): util-core.
export { billingPeriodAt, billingPeriodByLabel, billingPeriodsOverlapping, isPeriodLabel, localMidnightToInstant } from '@tally/shared/util-core';
export type { BillingPeriod } from '@tally/shared/util-core';
export * from './plan-segments';
export * from './subscription-timeline';
export * from './invoice-lifecycle';
export * from './adjustments';
export * from './ledger-usage';
