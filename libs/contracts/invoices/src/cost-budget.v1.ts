import { eventsOf, LedgerEvent } from '@tally/shared/util-core';

/**
 * Budgets on cost (invoicing's: they need prices). Stream `costbudget-{tenant}_{budgetId}`: CostBudgetSet (again:
 * a new definition), then perhaps CostBudgetRemoved. Alerts in `costalerts-{tenant}_{budgetId}`, one per
 * (budget, period, kind, meter, group, threshold), ever — relayed to NATS (`invoicing.evt.cost-threshold-crossed.v1`,
 * message id = ledger event id) and to the invoice webhook.
 */
export const costBudgetSetType = 'CostBudgetSet';
export const costBudgetRemovedType = 'CostBudgetRemoved';
export const costThresholdCrossedType = 'CostThresholdCrossed';

export interface CostBudgetSetV1 {
  tenant: string;
  budgetId: string;
  accountId: string;
  /** Only this app's charges (usage lines whose `per` group is this value), or the whole invoice. */
  app: string | null;
  /** Money in the account's currency (decimal text) the upcoming invoice is held against; null: no cost limit. */
  limit: string | null;
  /** Also alert at the thresholds of each charge's free allowance (Forge's 50/75/90/100 % alerts). */
  allowances: boolean;
  /** Percents (of the limit, of each allowance) that alert, ascending. */
  thresholds: number[];
}

export interface CostBudgetRemovedV1 {
  tenant: string;
  budgetId: string;
}

export interface CostThresholdCrossedV1 {
  tenant: string;
  budgetId: string;
  accountId: string;
  app: string | null;
  /** Billing period, YYYY-MM in the account's time zone. */
  period: string;
  /** cost: the rated invoice against the limit; allowance: one charge's quantity against its free allowance. */
  kind: 'cost' | 'allowance';
  threshold: number;
  /** cost: the limit (money); allowance: the allowance (in the meter's unit). */
  limit: string;
  /** cost: the rated amount when seen; allowance: the quantity. */
  value: string;
  currency: string;
  /** allowance alerts: the charge's meter and group (its `per` value), and the plan segment's start. */
  meter: string | null;
  perValue: string | null;
  segmentFrom: string | null;
}

export const costBudgetStream = (tenant: string, budgetId: string): string => `costbudget-${tenant}_${budgetId}`;
export const costAlertStream = (tenant: string, budgetId: string): string => `costalerts-${tenant}_${budgetId}`;

export type CostBudgetSet = LedgerEvent<typeof costBudgetSetType, CostBudgetSetV1>;
export type CostBudgetRemoved = LedgerEvent<typeof costBudgetRemovedType, CostBudgetRemovedV1>;
export type CostBudgetEvent = CostBudgetSet | CostBudgetRemoved;
export const isCostBudgetEvent = eventsOf<CostBudgetEvent>({ CostBudgetSet: true, CostBudgetRemoved: true });
export type CostThresholdCrossed = LedgerEvent<typeof costThresholdCrossedType, CostThresholdCrossedV1>;
export const isCostAlertEvent = eventsOf<CostThresholdCrossed>({ CostThresholdCrossed: true });
