import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { render, texts } from '../test-render';
import { DriftList, driftExplanations } from './drift-list';

type Drift = components['schemas']['ReconciliationDrift'];
const drift = (cause: Drift['cause']): Drift => ({
  accountId: 'vendor',
  subscriptionId: 'vendor-forge',
  meter: 'forge-functions',
  perValue: 'app-1',
  ledger: '300001',
  rollups: '300001',
  invoiced: '300000',
  invoiceId: null,
  cause,
  detail: 'usage reached the ledger after the invoice was finalized',
  segment: { planId: 'forge', planVersion: 1, from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' },
});

describe('DriftList', () => {
  it('marks each drift and explains it by its cause, with the three quantities', () => {
    const page = render(<DriftList drifts={[drift('changed_after_finalization'), drift('rollups_behind')]} />);
    expect(texts(page, '[data-testid=drift] h3')).toEqual([
      '⚠ Drift: Usage changed after the invoice was final',
      '⚠ Drift: Usage totals were behind the ledger',
    ]);
    expect(page.querySelector('[data-testid=drift]')?.textContent).toContain(
      'ledger 300,001, rollups 300,001, invoiced 300,000',
    );
    expect(page.querySelector('[data-testid=drift]')?.textContent).toContain('What to do: Nothing to do');
  });

  it('has words for every cause the API names', () =>
    expect(Object.keys(driftExplanations).sort()).toEqual(
      ['changed_after_finalization', 'invoice_differs', 'rollups_behind', 'rollups_differ'].sort(),
    ));

  it('says so when there is none', () =>
    expect(render(<DriftList drifts={[]} />).textContent).toBe(
      '✓ No drift: every billed quantity equals the ledger’s.',
    ));
});
