import { describe, expect, it } from 'vitest';
import type { Invoice, InvoiceDocument } from './invoice.decider';
import type { PlanHistory, SubscriptionTimeline } from './plan-segments';
import { billingInputsDigest, changedIn, rerateFrom as rerateFromStandings, standingOf } from './rerating';

const rerateFrom = (earlier: Invoice[], inputs: string) => rerateFromStandings(earlier.map(standingOf), inputs);

const month = (m: number) => ({
  label: `2026-${String(m).padStart(2, '0')}`,
  start: new Date(Date.UTC(2026, m - 1, 1)).toISOString(),
  end: new Date(Date.UTC(2026, m, 1)).toISOString(),
});
const finalized = (m: number, position: number, settled?: Invoice['settled']): Invoice => ({
  status: 'finalized',
  document: {
    period: month(m),
    finalizedAt: `2026-0${m + 1}-02T00:00:00Z`,
    finalizedPosition: String(position),
  } as InvoiceDocument,
  ...(settled && { settled }),
});
const inputs = 'digest-1';
const settledAt = (usagePosition: string) => ({ usagePosition, inputs });

describe('rerateFrom: where re-rating a subscription’s finalized periods starts', () => {
  it('is the latest finalization’s settlement while every finalization stands and the inputs are the same', () => {
    expect(rerateFrom([finalized(1, 10, settledAt('9')), finalized(2, 20, settledAt('18'))], inputs)).toEqual({
      since: 18n,
    });
    // Invoices not finalized (a voided draft, a period never invoiced) do not matter.
    const voidedDraft: Invoice = { status: 'voided', document: { period: month(3) } as InvoiceDocument };
    expect(
      rerateFrom([finalized(2, 20, settledAt('18')), voidedDraft, { status: 'none', document: null }], inputs),
    ).toEqual({
      since: 18n,
    });
  });

  it('is every period when the latest finalization kept no settlement, or other billing inputs', () => {
    expect(rerateFrom([finalized(1, 10, settledAt('9')), finalized(2, 20)], inputs)).toBe('all');
    expect(rerateFrom([finalized(2, 20, { usagePosition: '18', inputs: 'digest-0' })], inputs)).toBe('all');
    expect(rerateFrom([], inputs)).toBe('all');
  });

  it('is every period once a finalized invoice was voided: its adjustments are billed again', () => {
    const voided: Invoice = {
      status: 'voided',
      document: { period: month(1), finalizedAt: '2026-02-02T00:00:00Z' } as InvoiceDocument,
    };
    expect(rerateFrom([voided, finalized(2, 20, settledAt('18'))], inputs)).toBe('all');
  });

  it('is every period when the latest finalization is not the latest period’s (it settled only the periods before it)', () => {
    expect(rerateFrom([finalized(1, 30, settledAt('29')), finalized(2, 20, settledAt('18'))], inputs)).toBe('all');
  });

  it('is every period when a finalization’s ledger position is unknown', () => {
    const unknown = finalized(2, 20, settledAt('18'));
    delete (unknown.document as InvoiceDocument).finalizedPosition;
    expect(rerateFrom([unknown], inputs)).toBe('all');
  });
});

describe('changedIn', () => {
  const april = month(4);
  it('says whether a changed range overlaps the period; null means it cannot be known, so yes', () => {
    expect(changedIn([], april)).toBe(false);
    expect(changedIn(null, april)).toBe(true);
    expect(changedIn([{ from: '2026-03-31T23:00:00.000Z', to: '2026-04-01T00:00:00.000Z' }], april)).toBe(false);
    expect(changedIn([{ from: '2026-03-31T23:00:00.000Z', to: '2026-04-01T01:00:00.000Z' }], april)).toBe(true);
    expect(changedIn([{ from: '2026-04-30T23:00:00.000Z', to: '2026-05-01T00:00:00.000Z' }], april)).toBe(true);
    expect(changedIn([{ from: '2026-05-01T00:00:00.000Z', to: '2026-05-01T05:00:00.000Z' }], april)).toBe(false);
  });
});

describe('billingInputsDigest', () => {
  const account = { timezone: 'Europe/Berlin', anchorDay: 1, currency: 'EUR' };
  const subscription: SubscriptionTimeline = {
    subscriptionId: 's1',
    startsAt: '2026-01-01T00:00:00Z',
    endsAt: null,
    plans: [{ planId: 'pro', from: '2026-01-01T00:00:00Z' }],
  };
  const pro: PlanHistory = {
    planId: 'pro',
    currency: 'EUR',
    versions: [{ version: 1, effectiveFrom: null, charges: [] }],
  };
  const plans = new Map([
    ['pro', pro],
    ['other', { ...pro, planId: 'other' }],
  ]);
  const digest = billingInputsDigest(account, subscription, plans);

  it('is the same for the same inputs, whatever plans the subscription was never on', () => {
    expect(billingInputsDigest(account, subscription, new Map([['pro', pro]]))).toBe(digest);
    expect(billingInputsDigest({ ...account }, { ...subscription }, new Map(plans))).toBe(digest);
  });

  it('changes with the account’s zone, anchor or currency, the subscription, or a version of its plan', () => {
    expect(billingInputsDigest({ ...account, timezone: 'UTC' }, subscription, plans)).not.toBe(digest);
    expect(billingInputsDigest({ ...account, anchorDay: 15 }, subscription, plans)).not.toBe(digest);
    expect(billingInputsDigest({ ...account, currency: 'USD' }, subscription, plans)).not.toBe(digest);
    expect(billingInputsDigest(account, { ...subscription, startsAt: '2025-12-01T00:00:00Z' }, plans)).not.toBe(digest);
    const repriced = new Map([
      [
        'pro',
        { ...pro, versions: [...pro.versions, { version: 2, effectiveFrom: '2026-01-15T00:00:00Z', charges: [] }] },
      ],
    ]);
    expect(billingInputsDigest(account, subscription, repriced)).not.toBe(digest);
  });
});
