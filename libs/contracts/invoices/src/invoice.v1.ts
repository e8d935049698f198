import { deterministicUuid, eventsOf, LedgerEvent } from '@tally/shared/util-core';

/**
 * Invoices as the published language. Invoicing writes them to the ledger (stream `invoice-{tenant}_{id}`,
 * credit notes `creditnote-{tenant}_{id}`) and relays them to NATS (`invoicing.evt.*`, message id = ledger
 * event id) and to the invoice webhook. One invoice per (subscription, billing period): its id is derived
 * from both, so retries and restarts find the same invoice.
 *
 * Money: every line keeps its precise amount (decimal text, never rounded); the total is the sum of the
 * lines rounded once, half-even, to the currency's minor unit.
 */
export const invoiceDraftedType = 'InvoiceDrafted';
export const invoiceRedraftedType = 'InvoiceRedrafted';
export const invoiceFinalizedType = 'InvoiceFinalized';
export const invoiceVoidedType = 'InvoiceVoided';
export const creditNoteIssuedType = 'CreditNoteIssued';
export const invoiceEventTypes = [
  invoiceDraftedType,
  invoiceRedraftedType,
  invoiceFinalizedType,
  invoiceVoidedType,
  creditNoteIssuedType,
] as const;

export interface BillingPeriodV1 {
  /** `YYYY-MM`: the month (in the account's zone) the period starts in. */
  label: string;
  start: string;
  /** Exclusive. */
  end: string;
}

/** A part of the period with one plan version: usage in [from, to) rated with it. */
export interface PlanSegmentV1 {
  from: string;
  to: string;
  planId: string;
  planVersion: number;
}

/** One priced line of one charge for one `per` group in one plan segment: traceable to meter, quantity, allowance, tier and unit price. */
export interface UsageLineV1 {
  kind: 'usage';
  segment: PlanSegmentV1;
  meter: string;
  model: 'unit' | 'graduated' | 'volume' | 'package';
  per: string | null;
  /** The group's value of the `per` attribute (null: the whole subscription, or usage without that attribute). */
  perValue: string | null;
  /** Measured quantity of the group in the segment. */
  quantity: string;
  /** Allowance taken off: min(quantity, allowance). */
  allowanceApplied: string;
  /** 1-based tier index for graduated/volume lines; null otherwise (and for a zero line). */
  tier: number | null;
  /** Units priced on this line (for package: the number of packages). */
  units: string;
  /** The price of one unit (exact; for a price per N units: that price ÷ N). */
  unitPrice: string;
  /** A charge priced per N units: its price as quoted (1.929 per 1000000) — unitPrice is price ÷ per. */
  quotedPrice?: { price: string; per: string };
  flatPrice: string;
  /** Precise amount, never rounded: units × unitPrice + flatPrice. */
  amount: string;
}

/**
 * A change to a finalized period, billed later: the period's usage line (same segment, meter, group) as
 * re-rated now, minus what was billed for it so far (on the invoice and in earlier adjustments).
 */
export interface AdjustmentLineV1 extends Omit<UsageLineV1, 'kind'> {
  kind: 'adjustment';
  adjusts: { invoiceId: string; period: string };
  /** What the line is now (quantity, amount) and what had been billed. */
  billedQuantity: string;
  billedAmount: string;
  currentAmount: string;
}

export type InvoiceLineV1 = UsageLineV1 | AdjustmentLineV1;

export interface InvoiceContentV1 {
  lines: InvoiceLineV1[];
  /** Exact sum of the lines' amounts. */
  subtotal: string;
  /** subtotal rounded half-even to the currency's minor unit. */
  total: string;
}

export interface InvoiceDraftedV1 extends InvoiceContentV1 {
  tenant: string;
  invoiceId: string;
  accountId: string;
  subscriptionId: string;
  currency: string;
  period: BillingPeriodV1;
  /** When the grace period ends and the invoice finalizes on its own. */
  finalizesAt: string;
  draftedAt: string;
}

/** Late usage or a correction changed a draft during its grace period. */
export interface InvoiceRedraftedV1 extends InvoiceContentV1 {
  tenant: string;
  invoiceId: string;
  redraftedAt: string;
}

export interface InvoiceFinalizedV1 extends InvoiceContentV1 {
  tenant: string;
  invoiceId: string;
  accountId: string;
  subscriptionId: string;
  currency: string;
  period: BillingPeriodV1;
  finalizedAt: string;
  /** 'grace_period_ended' or 'requested'. */
  trigger: 'grace_period_ended' | 'requested';
  /** Credit notes issued with it (a finalized period's net change was negative). */
  creditNotes: string[];
  /**
   * What it settled: its own period and every earlier finalized one of the subscription are billed, with it, for
   * their usage as of ledger position `usagePosition` at least (where aggregation's rollups were when it was rated;
   * a period re-rated from a later snapshot may include later changes too), under billing inputs
   * `inputs` (a digest of the account's zone, anchor day and currency, the subscription and its plans). The next
   * invoice re-rates only the periods whose usage changed after that position, while the inputs are the same.
   * Absent on invoices finalized before it was kept: the next invoice re-rates every finalized period.
   */
  settled?: { usagePosition: string; inputs: string };
}

export interface InvoiceVoidedV1 {
  tenant: string;
  invoiceId: string;
  reason: string;
  voidedAt: string;
}

/** Money owed back on a finalized invoice: its period's re-rated lines came to less than was billed. */
export interface CreditNoteIssuedV1 {
  tenant: string;
  creditNoteId: string;
  /** The finalized invoice being credited. */
  invoiceId: string;
  /** The invoice whose finalization found the change. */
  issuedWith: string;
  accountId: string;
  subscriptionId: string;
  currency: string;
  period: string;
  /** Adjustment lines (negative amounts); the credit is −subtotal. */
  lines: AdjustmentLineV1[];
  subtotal: string;
  /** What is owed back: −subtotal rounded half-even to the minor unit (positive). */
  total: string;
  issuedAt: string;
}

export const invoiceId = (tenant: string, subscriptionId: string, periodStart: string): string =>
  deterministicUuid('tally.invoice.v1', tenant, subscriptionId, periodStart);
export const creditNoteId = (invoiceId: string, issuedWith: string): string =>
  deterministicUuid('tally.credit-note.v1', invoiceId, issuedWith);
export const invoiceStream = (tenant: string, id: string): string => `invoice-${tenant}_${id}`;
export const creditNoteStream = (tenant: string, id: string): string => `creditnote-${tenant}_${id}`;

/** NATS: stream INVOICING, subjects `invoicing.evt.<event>.v1`. */
export const invoicingStream = { name: 'INVOICING', subjects: ['invoicing.evt.>'] } as const;
export const invoiceEventSubject = (type: string): string =>
  `invoicing.evt.${type.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}.v1`;

export type InvoiceDrafted = LedgerEvent<typeof invoiceDraftedType, InvoiceDraftedV1>;
export type InvoiceRedrafted = LedgerEvent<typeof invoiceRedraftedType, InvoiceRedraftedV1>;
export type InvoiceFinalized = LedgerEvent<typeof invoiceFinalizedType, InvoiceFinalizedV1>;
export type InvoiceVoided = LedgerEvent<typeof invoiceVoidedType, InvoiceVoidedV1>;
export type CreditNoteIssued = LedgerEvent<typeof creditNoteIssuedType, CreditNoteIssuedV1>;
/** An invoice's stream (`invoice-{tenant}_{id}`). */
export type InvoiceEvent = InvoiceDrafted | InvoiceRedrafted | InvoiceFinalized | InvoiceVoided;
export const isInvoiceEvent = eventsOf<InvoiceEvent>({
  InvoiceDrafted: true,
  InvoiceRedrafted: true,
  InvoiceFinalized: true,
  InvoiceVoided: true,
});
/** Everything invoicing publishes: invoices and credit notes. */
export type InvoicingEvent = InvoiceEvent | CreditNoteIssued;
export const isInvoicingEvent = eventsOf<InvoicingEvent>({
  InvoiceDrafted: true,
  InvoiceRedrafted: true,
  InvoiceFinalized: true,
  InvoiceVoided: true,
  CreditNoteIssued: true,
});
export const isCreditNoteEvent = eventsOf<CreditNoteIssued>({ CreditNoteIssued: true });
