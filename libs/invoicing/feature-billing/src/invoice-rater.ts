import type { PlanSegmentV1, UsageLineV1 } from '@tally/contracts/invoices';
import type { SubscriptionTimeline, PlanHistory } from '@tally/invoicing/domain';
import type { BillingPeriod } from '@tally/shared/util-core';
import { planSegments, rateUsage } from '@tally/invoicing/domain';
import { BillableUsageClient, ChangedUsage } from './billable-usage.client';

/** Rated lines of each period asked, with the rollups' position they were read at (null: nothing was asked). */
export interface RatedPeriods {
  lines: UsageLineV1[][];
  position: bigint | null;
  /** Asked with `changes` only. */
  changed?: ChangedUsage;
}

const meterKey = (meter: string, per: string | null) => `${meter}\u0000${per ?? ''}`;

/**
 * Rates one subscription's usage in one billing period: the period cut into plan segments (plan or price
 * changes), each segment's quantities from the rollups, each segment rated with its own plan version.
 * Rule for allowances: a segment gets the whole allowance of its plan version (no proration), so a
 * subscription starting or ending mid-period keeps its full free tier, and a mid-period plan change
 * starts the new plan's allowance and tiers from zero.
 */
export class InvoiceRater {
  constructor(private readonly usage: BillableUsageClient) {}

  /** `fresh`: only from rollups that have applied the whole ledger (before anything is finalized). */
  async usageLines(
    accountId: string,
    subscription: SubscriptionTimeline,
    period: BillingPeriod,
    plans: ReadonlyMap<string, PlanHistory>,
    fresh = false,
  ): Promise<UsageLineV1[]> {
    const {
      lines: [lines],
    } = await this.rate(accountId, subscription, [period], plans, { fresh, project: false });
    return lines;
  }

  /**
   * Several periods' usage lines from one usage request (each period's lines as `usageLines` gives them): an
   * invoice re-rates earlier finalized periods of its subscription, which was one request per period — round
   * trips that grew with the subscription's age. `changes`: also ask which of the account's hours before
   * `before` changed after ledger position `since` (for periods charging `meters`), in the same snapshot.
   */
  usageLinesOfPeriods(
    accountId: string,
    subscription: SubscriptionTimeline,
    periods: readonly BillingPeriod[],
    plans: ReadonlyMap<string, PlanHistory>,
    fresh = false,
    changes?: { since: bigint; before: string; meters: string[] },
  ): Promise<RatedPeriods> {
    return this.rate(accountId, subscription, periods, plans, { fresh, project: false, changes });
  }

  /**
   * The period's usage projected to its end (each segment's quantities by aggregation's projectedQuantity), rated
   * as the invoice would be: the upcoming invoice's projected cost.
   */
  async projectedLines(
    accountId: string,
    subscription: SubscriptionTimeline,
    period: BillingPeriod,
    plans: ReadonlyMap<string, PlanHistory>,
  ): Promise<UsageLineV1[]> {
    const {
      lines: [lines],
    } = await this.rate(accountId, subscription, [period], plans, { fresh: false, project: true });
    return lines;
  }

  /** Each period cut into its plan segments, every segment of every period one interval of a single request. */
  private async rate(
    accountId: string,
    subscription: SubscriptionTimeline,
    periods: readonly BillingPeriod[],
    plans: ReadonlyMap<string, PlanHistory>,
    {
      fresh,
      project,
      changes,
    }: { fresh: boolean; project: boolean; changes?: { since: bigint; before: string; meters: string[] } },
  ): Promise<RatedPeriods> {
    const segmentsOf = periods.map((period) => planSegments(subscription, period, plans));
    const chargesOf = (s: PlanSegmentV1) =>
      plans.get(s.planId)?.versions.find((v) => v.version === s.planVersion)?.charges ?? [];
    const meters = new Map<string, { meter: string; per: string | null }>();
    for (const segment of segmentsOf.flat())
      for (const c of chargesOf(segment)) meters.set(meterKey(c.meter, c.per), { meter: c.meter, per: c.per });
    const { values, position, changed } = await this.usage.snapshot({
      accountId,
      intervals: segmentsOf.flat().map((s) => ({ from: s.from, to: s.to })),
      meters: [...meters.values()],
      fresh,
      ...(project && { project }),
      ...(changes && { changes: { ...changes, since: changes.since.toString() } }),
    });
    let first = 0;
    const lines = segmentsOf.map((segments) => {
      const offset = first;
      first += segments.length;
      return segments.flatMap((segment, index) => {
        const charges = chargesOf(segment);
        const rows = values
          .filter((v) => v.interval === offset + index && charges.some((c) => c.meter === v.meter && c.per === v.per))
          .map((v) => (project ? { ...v, quantity: v.projected ?? v.quantity } : v));
        return rateUsage(charges, rows).map((line) => ({ kind: 'usage' as const, segment, ...line }));
      });
    });
    return { lines, position, ...(changes && { changed: changed ?? null }) };
  }
}
