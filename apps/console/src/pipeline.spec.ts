import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { billingRunOutcome, listedCount } from './pipeline';

type BillingRun = components['schemas']['BillingRunRecord'];
const run = (counts: Partial<BillingRun>): BillingRun => ({
  tenant: 't1',
  trigger: 'manual',
  error: null,
  drafted: 0,
  redrafted: 0,
  finalized: 0,
  unchanged: 0,
  waiting: 0,
  behind: 0,
  voided: 0,
  failed: 0,
  subscriptions: 0,
  costAlerts: 0,
  startedAt: '2026-12-01T00:00:00Z',
  durationMs: 12,
  ...counts,
});

describe('listedCount', () => {
  it.each([
    // the last page: its length is the count
    { listed: 3, next: null, shown: '3' },
    { listed: 0, next: null, shown: '0' },
    // a page with more behind it: at least its length
    { listed: 1000, next: '0190c7a4-0000-7000-8000-000000000001', shown: '1,000 or more' },
  ])('$listed listed, next $next: $shown', ({ listed, next, shown }) =>
    expect(listedCount(listed, next, 'en-US')).toBe(shown),
  );
});

describe('billingRunOutcome', () => {
  it('names each outcome that happened, and leaves the zeros out', () =>
    expect(billingRunOutcome(run({ subscriptions: 2, drafted: 1, finalized: 1, costAlerts: 4 }), 'en-US')).toBe(
      '2 subscriptions: 1 drafted, 1 finalized, 4 cost budget alerts',
    ));

  it('says when there was nothing to do', () =>
    expect(billingRunOutcome(run({ subscriptions: 1, unchanged: 0 }), 'en-US')).toBe('1 subscription: nothing to do'));

  it('counts waiting and behind subscriptions in words', () =>
    expect(billingRunOutcome(run({ subscriptions: 3, waiting: 1, behind: 2 }), 'en-US')).toBe(
      '3 subscriptions: 1 waiting for an earlier draft, 2 waiting for usage to catch up',
    ));
});
