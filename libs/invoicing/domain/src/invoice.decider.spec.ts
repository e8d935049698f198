import { describe, expect, it } from 'vitest';
import type { InvoiceDraftedV1, InvoiceEvent, InvoiceLineV1 } from '@tally/contracts/invoices';
import { fold } from '@tally/shared/util-core';
import { InvoiceCommand, invoiceDecider } from './invoice.decider';

const SEGMENT = { planId: 'payg', planVersion: 1, from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' };
const line = (amount: string, quantity: string): InvoiceLineV1 => ({
  kind: 'usage',
  segment: SEGMENT,
  meter: 'api-calls',
  model: 'unit',
  per: null,
  perValue: null,
  quantity,
  allowanceApplied: '0',
  tier: null,
  units: quantity,
  unitPrice: '0.25',
  flatPrice: '0',
  amount,
});

const draft: InvoiceDraftedV1 = {
  tenant: 'default',
  invoiceId: 'inv-1',
  accountId: 'acme',
  subscriptionId: 'sub-1',
  currency: 'EUR',
  period: { label: '2026-11', start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
  lines: [line('25', '100')],
  subtotal: '25',
  total: '25.00',
  finalizesAt: '2026-12-02T00:00:00.000Z',
  draftedAt: '2026-12-01T00:05:00.000Z',
};
// late usage in the grace period: 100 → 140 calls, 25 → 35
const content = { lines: [line('35', '140')], subtotal: '35', total: '35.00' };
const drafted: InvoiceEvent = { type: 'InvoiceDrafted', data: draft };
const redrafted: InvoiceEvent = {
  type: 'InvoiceRedrafted',
  data: { tenant: 'default', invoiceId: 'inv-1', ...content, redraftedAt: '2026-12-01T10:00:00.000Z' },
};
const finalizedData = {
  ...draft,
  ...content,
  finalizedAt: '2026-12-02T00:00:00.000Z',
  trigger: 'grace_period_ended' as const,
  creditNotes: [],
};
const finalized: InvoiceEvent = {
  type: 'InvoiceFinalized',
  data: (({ finalizesAt: _f, draftedAt: _d, ...rest }) => rest)(finalizedData),
};
const voided: InvoiceEvent = {
  type: 'InvoiceVoided',
  data: { tenant: 'default', invoiceId: 'inv-1', reason: 'duplicate', voidedAt: '2026-12-03T09:00:00.000Z' },
};

/** given the stream's events, when the command: then these events, or this refusal. */
const given = (...history: InvoiceEvent[]) => ({
  when: (command: InvoiceCommand) => ({
    then: (...expected: InvoiceEvent[]) =>
      expect(invoiceDecider.decide(command, fold(invoiceDecider, history))).toEqual(expected),
    refuses: (code: string) =>
      expect(() => invoiceDecider.decide(command, fold(invoiceDecider, history))).toThrow(
        expect.objectContaining({ code }),
      ),
  }),
});

const draftIt: InvoiceCommand = { type: 'DraftInvoice', data: draft };
const commandFor = (event: InvoiceEvent): InvoiceCommand => {
  switch (event.type) {
    case 'InvoiceDrafted':
      return { type: 'DraftInvoice', data: event.data };
    case 'InvoiceRedrafted':
      return { type: 'RedraftInvoice', data: event.data };
    case 'InvoiceFinalized':
      return { type: 'FinalizeInvoice', data: event.data };
    case 'InvoiceVoided':
      return { type: 'VoidInvoice', data: event.data };
  }
};
const redraftIt = commandFor(redrafted);
const finalizeIt = commandFor(finalized);
const voidIt = commandFor(voided);

describe('invoice decider', () => {
  it('drafts an invoice once: drafting it again is a repeat', () => {
    given().when(draftIt).then(drafted);
    given(drafted).when(draftIt).then();
    given(drafted, finalized).when(draftIt).then();
  });

  it('re-drafts a draft when its lines change, and only then (key order does not count)', () => {
    given(drafted).when(redraftIt).then(redrafted);
    given(drafted, redrafted).when(redraftIt).then();
    const reordered = content.lines.map((l) => Object.fromEntries(Object.entries(l).reverse()) as InvoiceLineV1);
    given(drafted, redrafted)
      .when({ type: 'RedraftInvoice', data: { ...redraftIt.data, lines: reordered } } as InvoiceCommand)
      .then();
    given().when(redraftIt).refuses('unknown_invoice');
    given(drafted, finalized).when(redraftIt).refuses('invoice_not_draft');
    given(drafted, voided).when(redraftIt).refuses('invoice_not_draft');
  });

  it('finalizes a draft only', () => {
    given(drafted, redrafted).when(finalizeIt).then(finalized);
    given().when(finalizeIt).refuses('unknown_invoice');
    given(drafted, finalized).when(finalizeIt).refuses('invoice_not_draft');
    given(drafted, voided).when(finalizeIt).refuses('invoice_not_draft');
  });

  it('voids a draft or a finalized invoice, once; the system voids drafts only', () => {
    given(drafted).when(voidIt).then(voided);
    given(drafted, finalized).when(voidIt).then(voided);
    given(drafted, voided).when(voidIt).refuses('invoice_already_voided');
    given().when(voidIt).refuses('unknown_invoice');
    given(drafted)
      .when({ ...voidIt, onlyDraft: true } as InvoiceCommand)
      .then(voided);
    given(drafted, finalized)
      .when({ ...voidIt, onlyDraft: true } as InvoiceCommand)
      .then();
    given(drafted, voided)
      .when({ ...voidIt, onlyDraft: true } as InvoiceCommand)
      .then();
  });

  it('folds the document: drafted, its latest content, then finalization or void — finalized never changes', () => {
    const state = fold(invoiceDecider, [drafted, redrafted, finalized]);
    expect(state.status).toBe('finalized');
    expect(state.document).toMatchObject({
      status: 'finalized',
      total: '35.00',
      redraftedAt: '2026-12-01T10:00:00.000Z',
      trigger: 'grace_period_ended',
    });
    const afterVoid = fold(invoiceDecider, [drafted, redrafted, finalized, voided]);
    expect(afterVoid.document).toMatchObject({
      status: 'voided',
      total: '35.00',
      voidReason: 'duplicate',
      finalizedAt: '2026-12-02T00:00:00.000Z',
    });
    expect(fold(invoiceDecider, [])).toEqual({ status: 'none', document: null });
  });

  it('drafted: the document is the event, marked draft; re-drafted twice: the latest content wins, the rest kept', () => {
    expect(fold(invoiceDecider, [drafted]).document).toEqual({ ...draft, status: 'draft' });
    const again: InvoiceEvent = {
      type: 'InvoiceRedrafted',
      data: {
        tenant: 'default',
        invoiceId: 'inv-1',
        lines: [],
        subtotal: '0',
        total: '0.00',
        redraftedAt: '2026-12-01T20:00:00.000Z',
      },
    };
    expect(fold(invoiceDecider, [drafted, redrafted, again]).document).toMatchObject({
      lines: [],
      total: '0.00',
      redraftedAt: '2026-12-01T20:00:00.000Z',
      draftedAt: draft.draftedAt,
      finalizesAt: draft.finalizesAt,
    });
  });

  it('does not mutate the state it was given', () => {
    const before = fold(invoiceDecider, [drafted]);
    const snapshot = structuredClone(before);
    invoiceDecider.evolve(before, redrafted);
    invoiceDecider.evolve(before, finalized);
    invoiceDecider.evolve(before, voided);
    expect(before).toEqual(snapshot);
  });
});
