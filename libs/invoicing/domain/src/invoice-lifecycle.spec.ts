import { describe, expect, it } from 'vitest';
import type { InvoiceEventLike, InvoiceState, InvoiceStatus } from './invoice-lifecycle';
import { canFinalize, canVoid, evolveInvoice, initialInvoiceState } from './invoice-lifecycle';

/** The invoice document as the ledger builds it (a subset of the published InvoiceDraftedV1 and friends). */
interface Doc {
  invoiceId: string;
  status?: InvoiceStatus;
  lines: { meter: string; amount: string }[];
  subtotal: string;
  total: string;
  currency?: string;
  finalizesAt?: string;
  draftedAt?: string;
  redraftedAt?: string;
  finalizedAt?: string;
  trigger?: string;
  voidReason?: unknown;
  voidedAt?: unknown;
}

const drafted: InvoiceEventLike = {
  type: 'InvoiceDrafted',
  data: {
    invoiceId: 'inv-1',
    currency: 'EUR',
    lines: [{ meter: 'api-calls', amount: '25' }],
    subtotal: '25',
    total: '25.00',
    finalizesAt: '2026-12-04T00:00:00.000Z',
    draftedAt: '2026-12-01T00:05:00.000Z',
  },
};
// late usage in the grace period: 150 → 170 calls, 25 → 35
const redrafted: InvoiceEventLike = {
  type: 'InvoiceRedrafted',
  data: {
    invoiceId: 'inv-1',
    lines: [{ meter: 'api-calls', amount: '35' }],
    subtotal: '35',
    total: '35.00',
    redraftedAt: '2026-12-02T10:00:00.000Z',
  },
};
const finalized: InvoiceEventLike = {
  type: 'InvoiceFinalized',
  data: {
    invoiceId: 'inv-1',
    currency: 'EUR',
    lines: [{ meter: 'api-calls', amount: '35' }],
    subtotal: '35',
    total: '35.00',
    finalizedAt: '2026-12-04T00:00:00.000Z',
    trigger: 'grace_period_ended',
  },
};
const voided: InvoiceEventLike = {
  type: 'InvoiceVoided',
  data: { invoiceId: 'inv-1', reason: 'duplicate', voidedAt: '2026-12-05T09:00:00.000Z' },
};

const given = (...events: InvoiceEventLike[]): InvoiceState<Doc> =>
  events.reduce((s, e) => evolveInvoice<Doc>(s, e), initialInvoiceState<Doc>());

describe('evolveInvoice', () => {
  it('starts with no invoice at revision −1', () =>
    expect(initialInvoiceState<Doc>()).toEqual({ status: 'none', document: null, revision: -1n }));

  it.each([
    // one event per revision, counted from 0
    { name: 'nothing', events: [], status: 'none', revision: -1n },
    { name: 'drafted', events: [drafted], status: 'draft', revision: 0n },
    { name: 'drafted → redrafted', events: [drafted, redrafted], status: 'draft', revision: 1n },
    {
      name: 'drafted → redrafted → finalized',
      events: [drafted, redrafted, finalized],
      status: 'finalized',
      revision: 2n,
    },
    { name: 'drafted → voided', events: [drafted, voided], status: 'voided', revision: 1n },
    {
      name: 'drafted → redrafted → finalized → voided',
      events: [drafted, redrafted, finalized, voided],
      status: 'voided',
      revision: 3n,
    },
  ])('$name: $status at revision $revision', ({ events, status, revision }) => {
    const state = given(...events);
    expect(state.status).toBe(status);
    expect(state.revision).toBe(revision);
  });

  it('drafted: the document is the event, marked draft', () =>
    expect(given(drafted).document).toEqual({ ...drafted.data, status: 'draft' }));

  it('redrafted: lines, subtotal and total replaced, the rest of the draft kept', () =>
    expect(given(drafted, redrafted).document).toEqual({
      invoiceId: 'inv-1',
      status: 'draft',
      currency: 'EUR',
      finalizesAt: '2026-12-04T00:00:00.000Z',
      draftedAt: '2026-12-01T00:05:00.000Z',
      lines: [{ meter: 'api-calls', amount: '35' }],
      subtotal: '35',
      total: '35.00',
      redraftedAt: '2026-12-02T10:00:00.000Z',
    }));

  it('redrafted twice: the latest content wins', () => {
    const again = {
      type: 'InvoiceRedrafted',
      data: { ...redrafted.data, lines: [], subtotal: '0', total: '0.00', redraftedAt: '2026-12-03T10:00:00.000Z' },
    };
    expect(given(drafted, redrafted, again).document).toMatchObject({
      lines: [],
      subtotal: '0',
      total: '0.00',
      redraftedAt: '2026-12-03T10:00:00.000Z',
      draftedAt: '2026-12-01T00:05:00.000Z',
    });
  });

  it('finalized: the draft with the finalization merged in, marked finalized', () =>
    expect(given(drafted, redrafted, finalized).document).toEqual({
      invoiceId: 'inv-1',
      status: 'finalized',
      currency: 'EUR',
      finalizesAt: '2026-12-04T00:00:00.000Z',
      draftedAt: '2026-12-01T00:05:00.000Z',
      redraftedAt: '2026-12-02T10:00:00.000Z',
      lines: [{ meter: 'api-calls', amount: '35' }],
      subtotal: '35',
      total: '35.00',
      finalizedAt: '2026-12-04T00:00:00.000Z',
      trigger: 'grace_period_ended',
    }));

  it.each([
    { from: 'draft', events: [drafted, voided], lines: [{ meter: 'api-calls', amount: '25' }] },
    {
      from: 'finalized',
      events: [drafted, redrafted, finalized, voided],
      lines: [{ meter: 'api-calls', amount: '35' }],
    },
  ])('voided from $from: the document kept, marked voided with reason and time', ({ events, lines }) => {
    const state = given(...events);
    expect(state.status).toBe('voided');
    expect(state.document).toMatchObject({
      status: 'voided',
      voidReason: 'duplicate',
      voidedAt: '2026-12-05T09:00:00.000Z',
      lines,
      invoiceId: 'inv-1',
    });
  });

  it('an event it does not know still counts for the revision, and changes nothing else', () => {
    const before = given(drafted);
    expect(evolveInvoice(before, { type: 'CreditNoteIssued', data: { creditNoteId: 'cn-1' } })).toEqual({
      ...before,
      revision: 1n,
    });
  });

  it('does not mutate the state it was given', () => {
    const before = given(drafted);
    const snapshot = structuredClone(before);
    evolveInvoice(before, redrafted);
    evolveInvoice(before, finalized);
    expect(before).toEqual(snapshot);
  });
});

describe('what may happen in each status', () => {
  it.each([
    // only a draft finalizes; a finalized or voided invoice is final, and there is nothing to finalize without one
    { status: 'none', finalize: false, void: false },
    { status: 'draft', finalize: true, void: true },
    { status: 'finalized', finalize: false, void: true },
    { status: 'voided', finalize: false, void: false },
  ] as { status: InvoiceStatus; finalize: boolean; void: boolean }[])(
    '$status: finalize $finalize, void $void',
    ({ status, finalize, void: voidable }) => {
      expect(canFinalize(status)).toBe(finalize);
      expect(canVoid(status)).toBe(voidable);
    },
  );
});
