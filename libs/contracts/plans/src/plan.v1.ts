/**
 * Price plans, as other contexts may know them: invoicing owns them; attribution checks that a
 * subscription names a plan that exists, in the account's currency. Stream `plan-{tenant}_{id}`.
 */
export const planCreatedType = 'PlanCreated';

export interface PlanCreatedV1 {
  tenant: string;
  planId: string;
  name: string;
  /** ISO 4217 */
  currency: string;
  createdAt: string;
}

export const planStream = (tenant: string, planId: string): string => `plan-${tenant}_${planId}`;
