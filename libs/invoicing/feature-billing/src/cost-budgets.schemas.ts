import { Currency, Decimal, Instant, Month, queryText, ResourceKey, z } from '@tally/shared/feature-runtime';

/** Cost budgets: thresholds on what the current period's usage costs, rated as the invoice will be. */

export const defaultCostThresholds = [50, 75, 90, 100];

export const costBudgetIdParam = z.object({ id: ResourceKey });
export const costBudgetListQuery = z.object({
  accountId: queryText().min(1).optional().meta({ description: 'only this account’s budgets' }),
});

const thresholds = z
  .array(z.int().min(1).max(1_000))
  .min(1)
  .max(20)
  .refine((list) => list.every((t, i) => i === 0 || t > list[i - 1]), { error: 'must be ascending' })
  .meta({ description: `ascending whole percentages; ${JSON.stringify(defaultCostThresholds)} by default` });

export const CostBudgetRequest = z
  .strictObject({
    id: ResourceKey,
    accountId: ResourceKey,
    app: z.string().min(1).max(256).nullable().optional().meta({
      description: 'only this app’s charges (the lines whose `per` group is this value); the whole invoice by default',
    }),
    limit: z
      .string()
      .regex(/^(?=.*[1-9])(?:\d+\.?\d*|\.\d+)$/, { error: 'must be a positive decimal string, e.g. "25.00"' })
      .max(40)
      .nullable()
      .optional()
      .meta({ description: 'money in the account’s currency, per billing period', examples: ['25.00'] }),
    allowances: z.boolean().optional().meta({
      description: 'also alert at the thresholds of every charge’s free allowance (Forge’s allowance alerts)',
    }),
    thresholds: thresholds.optional(),
  })
  .refine((b) => (b.limit !== undefined && b.limit !== null) || b.allowances === true, {
    error: 'a cost budget needs a limit, or allowances: true (or both)',
    path: ['limit'],
  })
  .meta({
    id: 'CostBudgetRequest',
    examples: [
      { id: 'acme-monthly', accountId: 'acme-corp', limit: '25.00', thresholds: [50, 75, 90, 100] },
      { id: 'acme-free-tier', accountId: 'acme-corp', allowances: true },
    ],
  });

export const CostAlert = z
  .object({
    kind: z.enum(['cost', 'allowance']),
    period: Month,
    threshold: z.int(),
    limit: Decimal.meta({ description: 'cost: the limit (money); allowance: the charge’s free allowance' }),
    value: Decimal.meta({ description: 'cost: the rated amount when seen; allowance: the quantity' }),
    currency: Currency,
    meter: z.string().nullable(),
    perValue: z.string().nullable(),
    at: Instant.meta({ description: 'when it was recorded' }),
  })
  .meta({ id: 'CostAlert' });

export const CostBudget = z
  .object({
    budgetId: z.string(),
    accountId: z.string(),
    app: z.string().nullable(),
    limit: Decimal.nullable(),
    allowances: z.boolean(),
    thresholds: z.array(z.int()),
  })
  .meta({ id: 'CostBudget' });

export const CostBudgetWithAlerts = CostBudget.extend({
  alerts: z.array(CostAlert).meta({ description: 'every threshold crossed so far, oldest first' }),
}).meta({ id: 'CostBudgetWithAlerts' });

export const CostBudgetList = z.object({ items: z.array(CostBudget) });
