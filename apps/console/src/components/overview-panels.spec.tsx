import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { render, texts } from '../test-render';
import { DriftCount, IntakePanel, LastBillingRun, LastReconciliation } from './overview-panels';

type BillingRun = components['schemas']['BillingRunRecord'];
const run: BillingRun = {
  tenant: 't1',
  trigger: 'scheduled',
  error: null,
  drafted: 1,
  redrafted: 0,
  finalized: 0,
  unchanged: 0,
  waiting: 0,
  behind: 0,
  voided: 0,
  failed: 0,
  subscriptions: 1,
  costAlerts: 0,
  startedAt: '2026-12-01T00:00:00Z',
  durationMs: 1234,
};

describe('IntakePanel', () => {
  it('shows each window’s accepted count and rate per second as the API answers them', () => {
    const page = render(
      <IntakePanel
        rate={{
          lastMinute: { accepted: 75, perSecond: '1.3' },
          last15Minutes: { accepted: 1200, perSecond: '1.3' },
          lastHour: { accepted: 4321, perSecond: '1.2' },
          newestAcceptedAt: '2026-12-01T10:00:00Z',
          at: '2026-12-01T10:00:01Z',
        }}
      />,
    );
    expect(texts(page, '[data-testid=intake-accepted]')).toEqual(['75', '1,200', '4,321']);
    expect(texts(page, '[data-testid=intake-per-second]')).toEqual(['1.3/s', '1.3/s', '1.2/s']);
  });

  it('says when nothing was accepted yet', () => {
    const zero = { accepted: 0, perSecond: '0.0' };
    const page = render(
      <IntakePanel
        rate={{ lastMinute: zero, last15Minutes: zero, lastHour: zero, newestAcceptedAt: null, at: run.startedAt }}
      />,
    );
    expect(page.textContent).toContain('No event has been accepted yet.');
    // the API's one decimal, kept: 0.0, not 0
    expect(texts(page, '[data-testid=intake-per-second]')).toEqual(['0.0/s', '0.0/s', '0.0/s']);
  });
});

describe('LastBillingRun', () => {
  it('says when it ran, what started it and what it did', () => {
    const page = render(<LastBillingRun run={run} />);
    expect(page.querySelector('[data-testid=billing-run-started]')?.textContent).toContain(
      '(the billing clock, 1,234 ms)',
    );
    expect(page.querySelector('[data-testid=billing-run-outcome]')?.textContent).toBe('1 subscription: 1 drafted');
  });

  it('shows a failed run’s error, marked with a sign, instead of its (zero) counts', () => {
    const page = render(<LastBillingRun run={{ ...run, drafted: 0, error: 'connection refused' }} />);
    expect(page.querySelector('[data-testid=billing-run-outcome]')?.textContent).toBe('⚠ Failed: connection refused');
  });

  it('says there was none yet', () =>
    expect(render(<LastBillingRun run={undefined} />).textContent).toContain('No billing run yet'));
});

describe('DriftCount', () => {
  it.each([
    { count: null, shown: '—', marked: false },
    { count: 0, shown: '✓ no drift', marked: false },
    { count: 1, shown: '⚠ 1 drift', marked: true },
    { count: 3, shown: '⚠ 3 drifts', marked: true },
  ])('$count: $shown', ({ count, shown, marked }) => {
    const page = render(<DriftCount count={count} />);
    expect(page.textContent).toBe(shown);
    // More than colour: the sign and the word, and bold.
    expect(page.querySelector('strong') !== null).toBe(marked);
  });
});

describe('LastReconciliation', () => {
  it('links the report and shows its status and drift count', () => {
    const page = render(
      <LastReconciliation
        reconciliation={{
          id: '0190c7a4-0000-7000-8000-000000000001',
          period: '2026-11',
          status: 'completed',
          requestedAt: '2026-12-01T00:00:00Z',
          completedAt: '2026-12-01T00:00:01Z',
          driftCount: 2,
        }}
      />,
    );
    expect(page.querySelector('a')?.getAttribute('href')).toBe('/reconciliations/0190c7a4-0000-7000-8000-000000000001');
    expect(texts(page, '[data-testid=last-reconciliation-status]')).toEqual(['completed']);
    expect(texts(page, '[data-testid=drift-count]')).toEqual(['⚠ 2 drifts']);
  });
});
