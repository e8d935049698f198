import { eventsOf, LedgerEvent } from '@tally/shared/util-core';

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

/** A budget as set (stream `budget-{tenant}_{budgetId}`): a limit on one meter for one account, per billing period. */
export interface BudgetSetV1 {
  tenant: string;
  budgetId: string;
  accountId: string;
  meter: string;
  /** Only usage of this app (subject attribute `app`), or all of the account's. */
  app: string | null;
  /** In the meter's unit, a decimal string. */
  limit: string;
  /** Percents of the limit that alert. */
  thresholds: number[];
}

export interface BudgetRemovedV1 {
  tenant: string;
  budgetId: string;
}

export type BudgetSet = LedgerEvent<typeof budgetSetType, BudgetSetV1>;
export type BudgetRemoved = LedgerEvent<typeof budgetRemovedType, BudgetRemovedV1>;
export type BudgetEvent = BudgetSet | BudgetRemoved;
export const isBudgetEvent = eventsOf<BudgetEvent>({ BudgetSet: true, BudgetRemoved: true });
export type BudgetThresholdCrossed = LedgerEvent<typeof budgetThresholdCrossedType, BudgetThresholdCrossedV1>;
export const isBudgetAlertEvent = eventsOf<BudgetThresholdCrossed>({ BudgetThresholdCrossed: true });
