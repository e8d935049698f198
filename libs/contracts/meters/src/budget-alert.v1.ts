/**
 * Budget alerts, published: in the ledger (stream `budgetalerts-{tenant}_{budgetId}`), relayed to NATS
 * on `budgetThresholdCrossedSubject` with the ledger event id as message id, and to the webhook.
 * One per (budget, period, threshold), ever.
 */
export const budgetThresholdCrossedType = 'BudgetThresholdCrossed';
export const budgetSetType = 'BudgetSet';
export const budgetRemovedType = 'BudgetRemoved';
export const aggregationStream = { name: 'AGGREGATION', subjects: ['aggregation.evt.>'] } as const;
export const budgetThresholdCrossedSubject = 'aggregation.evt.budget-threshold-crossed.v1';

export interface BudgetThresholdCrossedV1 {
  tenant: string;
  budgetId: string;
  accountId: string;
  meter: string;
  app: string | null;
  /** Billing period, YYYY-MM in the account's time zone. */
  period: string;
  /** Percent of the limit. */
  threshold: number;
  limit: string;
  /** Usage when the crossing was seen (decimal string). */
  usage: string;
}

export const budgetStream = (tenant: string, budgetId: string): string => `budget-${tenant}_${budgetId}`;
export const budgetAlertStream = (tenant: string, budgetId: string): string => `budgetalerts-${tenant}_${budgetId}`;
