import { describe, expect, it } from 'vitest';
import type { InvoiceLineV1, UsageLineV1 } from '@tally/contracts/invoices';
import type { ChargeV1 } from '@tally/contracts/plans';
import { CostBudget, costCrossings, decideCostBudget } from './cost-budget';

const segment = { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', planId: 'forge', planVersion: 1 };
const line = (meter: string, perValue: string | null, quantity: string, amount: string, tier: number | null = null) =>
  ({
    kind: 'usage',
    segment,
    meter,
    model: 'unit',
    per: 'app',
    perValue,
    quantity,
    allowanceApplied: '0',
    tier,
    units: '0',
    unitPrice: '0',
    flatPrice: '0',
    amount,
  }) satisfies UsageLineV1;
const charge = (meter: string, allowance: string) => ({ meter, allowance }) as ChargeV1;
const charges = [charge('fn', '200000'), charge('kvs', '0.1'), charge('llm', '0')];
const budget = (fields: Partial<CostBudget>): CostBudget => ({
  budgetId: 'b',
  accountId: 'acme',
  app: null,
  limit: null,
  allowances: false,
  thresholds: [50, 75, 90, 100],
  ...fields,
});
const lines: InvoiceLineV1[] = [
  line('fn', 'app-1', '150000', '0'),
  line('kvs', 'app-1', '0.1', '0'),
  line('llm', 'app-1', '2000000', '0.2'),
  line('fn', 'app-2', '250000', '1.25'),
];
const crossed = (b: CostBudget) =>
  costCrossings(b, lines, () => charges).map((c) => [c.kind, c.meter, c.perValue, c.threshold, c.value]);

describe('costCrossings', () => {
  it('holds the invoice’s cost against the limit: 1.45 of 2 is 72.5 % — 50 reached, 75 not', () =>
    expect(crossed(budget({ limit: '2' }))).toEqual([['cost', null, null, 50, '1.45']]));

  it('holds one app’s lines only: app-1 costs 0.2 of 0.4 = 50 %', () =>
    expect(crossed(budget({ limit: '0.4', app: 'app-1' }))).toEqual([['cost', null, null, 50, '0.2']]));

  it('alerts at each charge’s free allowance, per group; a charge without allowance never does', () =>
    // app-1: fn 150,000 / 200,000 = 75 % (50, 75), kvs 0.1 / 0.1 = 100 % (all); app-2: fn 125 % (all)
    expect(crossed(budget({ allowances: true }))).toEqual([
      ['allowance', 'fn', 'app-1', 50, '150000'],
      ['allowance', 'fn', 'app-1', 75, '150000'],
      ['allowance', 'kvs', 'app-1', 50, '0.1'],
      ['allowance', 'kvs', 'app-1', 75, '0.1'],
      ['allowance', 'kvs', 'app-1', 90, '0.1'],
      ['allowance', 'kvs', 'app-1', 100, '0.1'],
      ['allowance', 'fn', 'app-2', 50, '250000'],
      ['allowance', 'fn', 'app-2', 75, '250000'],
      ['allowance', 'fn', 'app-2', 90, '250000'],
      ['allowance', 'fn', 'app-2', 100, '250000'],
    ]));

  it('reads a graduated charge’s group once, whatever its number of tier lines', () =>
    expect(
      costCrossings(
        budget({ allowances: true, thresholds: [100] }),
        [line('fn', 'app-1', '300000', '1', 1), line('fn', 'app-1', '300000', '2', 2)],
        () => charges,
      ),
    ).toHaveLength(1));
});

describe('costCrossings across plan segments', () => {
  it('names each segment: a mid-period plan change gives each segment its own allowance alerts', () => {
    const second = { ...segment, from: '2026-11-16T00:00:00.000Z', planVersion: 2 };
    const crossings = costCrossings(
      budget({ allowances: true, thresholds: [50] }),
      [line('fn', 'app-1', '150000', '0'), { ...line('fn', 'app-1', '150000', '0'), segment: second }],
      () => charges,
    );
    expect(crossings.map((c) => c.segmentFrom)).toEqual([segment.from, second.from]);
  });
});

describe('decideCostBudget', () => {
  const data = { tenant: 't', ...budget({ limit: '10' }) };
  it('refuses a budget for an unknown account, and sets the same definition once', () => {
    expect(() =>
      decideCostBudget({ type: 'SetCostBudget', data, metadata: { accountExists: false } }, { status: 'none' }),
    ).toThrow(/account acme does not exist/);
    const { tenant: _t, ...set } = data;
    expect(
      decideCostBudget(
        { type: 'SetCostBudget', data, metadata: { accountExists: true } },
        { status: 'set', budget: set },
      ),
    ).toEqual([]);
  });
});
