import { canonicalJson, deterministicUuid } from '@tally/shared/util-core';
import type { Invoice, InvoiceStatus } from './invoice.decider';
import type { PlanHistory, SubscriptionTimeline } from './plan-segments';

/**
 * What a finalization settled (InvoiceFinalizedV1.settled): every earlier finalized period of its subscription was
 * billed, with it, up to its usage as of ledger position `usagePosition`, under the billing inputs `inputs`.
 */
export interface Settlement {
  usagePosition: string;
  inputs: string;
}

/**
 * Everything a period's rating reads besides usage, as one digest: the account's zone, anchor day and currency,
 * the subscription (its start, end and plan changes) and every version of each plan it was ever on. Any change to
 * them — a plan change reaching back, a rescheduled start, a new plan version — changes the digest, and the next
 * invoice re-rates every finalized period.
 */
export const billingInputsDigest = (
  account: { timezone: string; anchorDay: number; currency: string },
  subscription: SubscriptionTimeline,
  plans: ReadonlyMap<string, PlanHistory>,
): string => {
  const planIds = [...new Set(subscription.plans.map((p) => p.planId))].sort();
  // The version is the rating rules': a release that changes how a period rates (or rebuilds the rollups after a
  // fix) must change it, so every subscription re-rates its finalized periods once (docs/invoicing.md).
  return deterministicUuid(
    'tally.billing-inputs.v1',
    canonicalJson({
      account: { timezone: account.timezone, anchorDay: account.anchorDay, currency: account.currency },
      subscription,
      plans: planIds.map((id) => {
        const plan = plans.get(id);
        return plan ? { planId: id, currency: plan.currency, versions: plan.versions } : { planId: id };
      }),
    }),
  );
};

/**
 * What re-rating decides on about an earlier invoice: a few fields of its fold, which billing may also take from the
 * invoice projection (a row at the stream's current revision) instead of reading and folding the stream.
 */
export interface InvoiceStanding {
  status: InvoiceStatus;
  /** The period's start (absent: no invoice). */
  periodStart?: string;
  /** When it was finalized (kept through a later void). */
  finalizedAt?: string;
  /** The ledger position of its InvoiceFinalized. */
  finalizedPosition?: string;
  settled?: Settlement;
}

/** An invoice's standing from its stream's fold. */
export const standingOf = (invoice: Invoice): InvoiceStanding => ({
  status: invoice.status,
  periodStart: invoice.document?.period.start,
  finalizedAt: invoice.document?.finalizedAt,
  finalizedPosition: invoice.document?.finalizedPosition,
  settled: invoice.settled,
});

/**
 * From which usage position a subscription's finalized periods need re-rating, given its earlier invoices' standings
 * (each with its finalization's position: from the ledger's fold, or a projection row at the stream's revision) and
 * today's billing inputs: the latest finalization's settlement,
 * when every finalization still stands and the inputs are the same. Otherwise 'all' — every finalized period is
 * re-rated, as before Tally kept settlements:
 * - a finalized invoice was voided (its adjustment lines are no longer billed, so its periods are unsettled again);
 * - the latest finalization is not of the latest finalized period (an earlier period finalized after a later one
 *   settles only the periods before it);
 * - it carries no settlement (finalized before settlements were kept) or other inputs.
 */
export const rerateFrom = (earlier: readonly InvoiceStanding[], inputs: string): { since: bigint } | 'all' => {
  if (earlier.some((i) => i.status === 'voided' && i.finalizedAt !== undefined)) return 'all';
  const finalized = earlier.filter((i) => i.status === 'finalized');
  if (finalized.length === 0 || finalized.some((i) => i.finalizedPosition === undefined)) return 'all';
  const position = (i: InvoiceStanding) => BigInt(i.finalizedPosition as string);
  const latest = finalized.reduce((a, b) => (position(b) > position(a) ? b : a));
  const lastPeriod = finalized.reduce((a, b) =>
    Date.parse(b.periodStart ?? '') > Date.parse(a.periodStart ?? '') ? b : a,
  );
  if (latest !== lastPeriod || !latest.settled || latest.settled.inputs !== inputs) return 'all';
  return { since: BigInt(latest.settled.usagePosition) };
};

/** Whether usage changed in [start, end): some changed range overlaps it (null: cannot say, so yes). */
export const changedIn = (
  changed: readonly { from: string; to: string }[] | null,
  period: { start: string; end: string },
): boolean =>
  changed === null ||
  changed.some((r) => Date.parse(r.from) < Date.parse(period.end) && Date.parse(period.start) < Date.parse(r.to));

/** Every meter any version of any plan the subscription was ever on charges: what its finalized periods may bill. */
export const metersCharged = (subscription: SubscriptionTimeline, plans: ReadonlyMap<string, PlanHistory>): string[] =>
  [
    ...new Set(
      subscription.plans.flatMap(
        (p) => plans.get(p.planId)?.versions.flatMap((v) => v.charges.map((c) => c.meter)) ?? [],
      ),
    ),
  ].sort();
