/**
 * Aggregation answers invoicing's question "how much of each meter did this account use in these
 * intervals?" over NATS request/reply (apps share no tables). Quantities come from the rollups: current
 * attribution, voids and amendments applied. Intervals are [from, to) UTC instants.
 */
export const billableUsageSubject = 'aggregation.qry.billable-usage.v1';

export interface BillableUsageRequestV1 {
  tenant: string;
  accountId: string;
  intervals: { from: string; to: string }[];
  /** `per`: a subject attribute to group by (e.g. "app"), or null for the account as a whole. */
  meters: { meter: string; per: string | null }[];
  /**
   * Answer only from rollups that have applied the ledger as it is now (waiting briefly); otherwise refuse with
   * `rollups_behind` (a rebuild or a stalled projection). Invoicing asks this before it finalizes anything.
   */
  fresh?: boolean;
  /**
   * Time-weighted meters' levels hold until this instant at most (RFC 3339; default: aggregation's now) — the
   * asker's clock, so that what it bills and what it re-derives (reconciliation) cover the same hours.
   */
  asOf?: string;
  /**
   * Also answer each value projected to its interval's end (`projected`): the upcoming invoice's projected cost.
   * The method is aggregation's (projectedQuantity: a sum's rate carried on, a gauge's levels held to the end).
   */
  project?: boolean;
  /**
   * Also say which of the account's hours before `before` (RFC 3339) changed after ledger position `since` (decimal
   * text): usage recorded, moved in or out, voided or amended there (`changed` in the answer). Invoicing asks it with
   * the position it last settled the subscription's finalized periods at, and re-rates only the periods it names.
   * `meters`: every meter those periods may be charged for; when one is unknown the answer is null, and when one is
   * time-weighted (a subject's level holds until its next report, across periods) each change reaches on to `before`.
   */
  changes?: { since: string; before: string; meters: string[] };
}

export interface BillableUsageValueV1 {
  /** Index into the request's intervals. */
  interval: number;
  meter: string;
  /** The grouping asked for (the same meter may be asked for with several). */
  per: string | null;
  /** Value of the `per` attribute (null: not grouped, or usage without that attribute). */
  perValue: string | null;
  /** Exact decimal text. */
  quantity: string;
  /** Asked with `project`: the quantity projected to the interval's end (exact decimal text). */
  projected?: string;
}

export type BillableUsageReplyV1 =
  /** position: the ledger position the rollups had applied when the values were read (a consistent snapshot). */
  | {
      ok: true;
      values: BillableUsageValueV1[];
      position: string;
      /**
       * Asked with `changes`: the changed hours merged into ranges [from, to), oldest first (none: nothing changed);
       * null when aggregation cannot say (it kept no record that far back, a meter changed since, its rollups are
       * behind `since`, a charged meter is unknown): treat every earlier period as changed. Absent: an
       * aggregation that does not know `changes`.
       */
      changed?: { from: string; to: string }[] | null;
    }
  | { ok: false; error: { type: 'unknown_meter' | 'bad_request' | 'rollups_behind' | 'unavailable'; detail: string } };

/**
 * Many queries in one request, answered from one snapshot of the rollups: a billing run's invoices in flight at
 * once ask together (one round trip and one read of the buckets for all). Each answer is what its query would have
 * had on its own (`billableUsageSubject`), each with the batch's one position; a query refused (an unknown meter,
 * rollups behind) refuses only itself.
 */
export const billableUsageBatchSubject = 'aggregation.qry.billable-usage-batch.v1';

export interface BillableUsageBatchRequestV1 {
  tenant: string;
  queries: Omit<BillableUsageRequestV1, 'tenant'>[];
}

export type BillableUsageBatchReplyV1 =
  | { ok: true; answers: BillableUsageReplyV1[] }
  | { ok: false; error: { type: 'bad_request' | 'unavailable'; detail: string } };
