import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { costBudgetUse, usageBudgetUse } from './budgets';

type AccountUsage = components['schemas']['AccountUsage'];
type UpcomingInvoice = components['schemas']['UpcomingInvoice'];

const usage = {
  meters: [
    {
      slug: 'forge-functions',
      name: 'Function compute',
      aggregation: 'SUM',
      total: '300000',
      breakdown: [
        { app: 'app-1', value: '250000' },
        { app: 'app-2', value: '50000' },
      ],
    },
  ],
} as unknown as AccountUsage;

describe('budget consumption', () => {
  const budget = { budgetId: 'b', accountId: 'vendor', meter: 'forge-functions', thresholds: [50, 75, 90, 100] };

  it('measures a usage budget on one app against that app’s usage', () =>
    // 250,000 of 400,000: 62.5 %, past 50 only
    expect(usageBudgetUse({ ...budget, app: 'app-1', limit: '400000' }, usage)).toEqual({
      used: '250000',
      percent: '62.5',
      crossed: [50],
    }));

  it('measures a usage budget on the whole account against the meter’s total', () =>
    // 300,000 of 300,000: every threshold
    expect(usageBudgetUse({ ...budget, app: null, limit: '300000' }, usage).crossed).toEqual([50, 75, 90, 100]));

  it('counts no usage as zero', () =>
    expect(usageBudgetUse({ ...budget, meter: 'forge-logs', app: null, limit: '1' }, usage).used).toBe('0'));

  it('measures a cost budget against the upcoming invoice, with the thresholds its alerts crossed this period', () => {
    const invoice = {
      period: { label: '2026-12' },
      subtotal: '1.25275',
      lines: [
        { perValue: 'app-1', amount: '1.25' },
        { perValue: 'app-2', amount: '0.00275' },
      ],
    } as unknown as UpcomingInvoice;
    const alert = (threshold: number, period = '2026-12', kind: 'cost' | 'allowance' = 'cost') => ({
      at: '2026-12-02T00:00:00Z',
      currency: 'USD',
      kind,
      limit: '1',
      meter: null,
      period,
      perValue: null,
      threshold,
      value: '1.25',
    });
    const cost = {
      budgetId: 'c',
      accountId: 'vendor',
      allowances: false,
      app: null,
      limit: '2',
      thresholds: [50, 100],
      alerts: [alert(50, '2026-11'), alert(50), alert(100, '2026-12', 'allowance')],
    };
    expect(costBudgetUse(cost, invoice)).toEqual({ used: '1.25275', percent: '62.6', crossed: [50] });
    expect(costBudgetUse({ ...cost, app: 'app-2' }, invoice).used).toBe('0.00275');
  });
});
