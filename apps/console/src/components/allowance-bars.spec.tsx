import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { allowanceUses } from '../allowances';
import { render, texts } from '../test-render';
import { AllowanceBars } from './allowance-bars';

type Plan = components['schemas']['Plan'];
type UsageLine = components['schemas']['UsageLine'];

const segment = { planId: 'forge', planVersion: 1, from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };
const line = (meter: string, app: string, quantity: string, tier: number | null = null): UsageLine => ({
  kind: 'usage',
  meter,
  model: 'unit',
  per: 'app',
  perValue: app,
  quantity,
  allowanceApplied: '0',
  units: '0',
  unitPrice: '0',
  flatPrice: '0',
  amount: '0',
  tier,
  segment,
});
const charge = (meter: string, allowance: string): Plan['versions'][number]['charges'][number] => ({
  meter,
  model: 'unit',
  per: 'app',
  allowance,
  unitPrice: '0.000025',
  tiers: null,
  packagePrice: null,
  packageSize: null,
  description: null,
});
const forge: Plan = {
  id: 'forge',
  name: 'Forge',
  currency: 'USD',
  createdAt: '2026-01-01T00:00:00Z',
  latestVersion: 1,
  versions: [
    {
      version: 1,
      at: '2026-01-01T00:00:00Z',
      effectiveFrom: null,
      charges: [charge('forge-functions', '200000'), charge('forge-kvs-reads', '0.1'), charge('forge-llm', '0')],
    },
  ],
};
const plans = new Map([['forge', forge]]);

describe('AllowanceBars', () => {
  it('marks an allowance exceeded by a single unit, though its share shows 100.0 %', () => {
    const exceeded = (quantity: string) => allowanceUses([line('forge-functions', 'app-1', quantity)], plans)[0];
    // 200,050 of 200,000: 100.025 %, shown 100.0 % — and 50 GB-s are billed.
    expect(exceeded('200050')).toMatchObject({ percent: '100.0', exceeded: true });
    expect(exceeded('200000.000001').exceeded).toBe(true);
    expect(exceeded('200000').exceeded).toBe(false);
    expect(exceeded('199999.999999').exceeded).toBe(false);
  });

  it('shows each app’s use of each free allowance, and marks the ones exceeded', () => {
    const uses = allowanceUses(
      [
        // 250,000 of 200,000 GB-s: 125 %, exceeded; 0.05 of 0.1 GB: 50 %
        line('forge-functions', 'app-1', '250000'),
        line('forge-functions', 'app-2', '50000'),
        line('forge-kvs-reads', 'app-1', '0.05'),
        // no allowance: no bar
        line('forge-llm', 'app-1', '7'),
      ],
      plans,
    );
    const page = render(<AllowanceBars uses={uses} meterNames={new Map([['forge-functions', 'Function compute']])} />);
    expect(texts(page, '[data-testid=allowance-text]')).toEqual([
      '250,000 of 200,000 free used ⚠ exceeded (125.0 %)',
      '50,000 of 200,000 free used',
      '0.05 of 0.1 free used',
    ]);
    const bars = [...page.querySelectorAll('[role=progressbar]')];
    expect(bars.map((b) => b.getAttribute('aria-valuenow'))).toEqual(['100', '25', '50']);
    expect(bars[0].getAttribute('aria-valuetext')).toBe('250,000 of 200,000 free used, exceeded');
    expect(page.querySelector('[data-app=app-1][data-meter=forge-functions]')?.textContent).toContain(
      'Function compute · app-1',
    );
  });

  it('counts a graduated charge’s tiers once', () => {
    const uses = allowanceUses(
      [line('forge-functions', 'app-1', '250000', 1), line('forge-functions', 'app-1', '250000', 2)],
      plans,
    );
    expect(uses).toHaveLength(1);
  });

  it('says so when no charge has an allowance', () =>
    expect(render(<AllowanceBars uses={[]} meterNames={new Map()} />).textContent).toBe(
      'No charge of this period has a free allowance.',
    ));
});
