import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { usageBehindPath } from './drill-down';

const segment = { planId: 'forge', planVersion: 1, from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };
const usage: components['schemas']['UsageLine'] = {
  kind: 'usage',
  meter: 'forge-functions',
  model: 'unit',
  per: 'app',
  perValue: 'app-1',
  quantity: '250000',
  allowanceApplied: '200000',
  units: '50000',
  unitPrice: '0.000025',
  flatPrice: '0',
  amount: '1.25',
  tier: null,
  segment,
};

describe('drill-down from an invoice line', () => {
  it('opens the period, the meter and the group of a per-app line', () =>
    expect(usageBehindPath('vendor', '2026-11', usage)).toBe(
      '/accounts/vendor?period=2026-11&filterAttribute[app]=app-1&meter=forge-functions',
    ));

  it('has no group filter for a charge on the whole subscription', () =>
    expect(usageBehindPath('vendor', '2026-11', { ...usage, per: null, perValue: null })).toBe(
      '/accounts/vendor?period=2026-11&meter=forge-functions',
    ));

  it('opens the period an adjustment adjusts', () =>
    expect(
      usageBehindPath('vendor', '2026-12', {
        ...usage,
        kind: 'adjustment',
        adjusts: { invoiceId: '0190c7a4-0000-7000-8000-000000000001', period: '2026-11' },
        billedAmount: '1.25',
        billedQuantity: '250000',
        currentAmount: '1.5',
      }),
    ).toBe('/accounts/vendor?period=2026-11&filterAttribute[app]=app-1&meter=forge-functions'));
});
