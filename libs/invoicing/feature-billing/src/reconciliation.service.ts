import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { MeterCreatedV1 } from '@tally/contracts/meters';
import { BillingRegistryTables, ReconciliationTables } from '@tally/invoicing/data-access-billing';
import {
  billedQuantities,
  LedgerUsage,
  meterValue,
  timeWeightedSpans,
  timeWeightedValues,
  planSegments,
} from '@tally/invoicing/domain';
import { Clock, CLOCK, Log, LOG, Tenancy } from '@tally/shared/feature-runtime';
import { billingPeriodByLabel, ExactDecimal, messageOf } from '@tally/shared/util-core';
import { BillableUsageClient } from './billable-usage.client';
import { InvoicesService } from './invoices.service';
import { ReconciliationLedger, TimeWeightedRead } from './reconciliation-ledger';
import {
  BILLABLE_USAGE,
  BILLING_REGISTRY_TABLES,
  INVOICING_DB,
  RECONCILIATION_LEDGER,
  RECONCILIATION_TABLES,
} from './tokens';

export interface Drift {
  accountId: string;
  subscriptionId: string;
  invoiceId: string | null;
  segment: { from: string; to: string; planId: string; planVersion: number };
  meter: string;
  perValue: string | null;
  ledger: string;
  rollups: string | null;
  invoiced: string | null;
  cause: 'rollups_behind' | 'rollups_differ' | 'changed_after_finalization' | 'invoice_differs';
  detail: string;
}

type LedgerUsageList = LedgerUsage[];
/** The list under a key, created on first use (appending in place: a ledger can hold millions of events per account). */
const listIn = <K, V>(map: Map<K, V[]>, key: K): V[] => {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
};
type Segment = Drift['segment'];
const segmentKey = (s: Segment) => `${s.from}|${s.to}|${s.planId}|${s.planVersion}`;
const key = (segment: Segment, meter: string, perValue: string | null) =>
  JSON.stringify([segmentKey(segment), meter, perValue]);
const same = (a: string | null | undefined, b: string | null | undefined) =>
  new ExactDecimal(a ?? '0').equals(b ?? '0');
/** A time-weighted meter's interval in a segment: from its eventFrom at the earliest, up to asOf at the latest. */
const timeWeightedInterval = (meter: MeterCreatedV1, segment: Segment, asOf: Date) => ({
  from: new Date(Math.max(Date.parse(segment.from), Date.parse(meter.eventFrom ?? segment.from))),
  to: new Date(Math.min(Date.parse(segment.to), asOf.getTime())),
});

/**
 * Re-derives every account's billed quantities for a period from the ledger (its own fold, not the
 * rollups) and compares them with the rollups (asked of aggregation) and with the finalized invoices
 * (their lines plus the adjustments and credit notes billed for them since). Each difference is a drift
 * with its cause; on a healthy, caught-up system the list is empty.
 */
@Injectable()
export class ReconciliationService {
  constructor(
    @Inject(RECONCILIATION_LEDGER) private readonly fold: ReconciliationLedger,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(LOG) private readonly log: Log,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(BILLING_REGISTRY_TABLES) private readonly registry: BillingRegistryTables,
    @Inject(RECONCILIATION_TABLES) private readonly tables: ReconciliationTables,
    private readonly invoices: InvoicesService,
    @Inject(BILLABLE_USAGE) private readonly usage: BillableUsageClient,
  ) {}

  private readonly inFlight = new Set<Promise<void>>();

  /** Starts a reconciliation in the background; its report is read with `GET /v1/reconciliations/{id}`. */
  async start(period: string): Promise<string> {
    const id = randomUUID();
    await this.tables.start(this.db, this.tenancy.current, id, period, this.clock().toISOString());
    const run = this.reconcile(period)
      .then((report) =>
        this.tables.finish(this.db, this.tenancy.current, id, 'completed', this.clock().toISOString(), {
          ...report,
        }),
      )
      .catch((error) => {
        this.log.error({ reconciliationId: id, err: error }, 'reconciliation failed');
        return this.tables.finish(this.db, this.tenancy.current, id, 'failed', this.clock().toISOString(), {
          error: messageOf(error),
        });
      })
      // Not even the failure could be recorded (Postgres gone): logged; the report stays 'running' and can be re-run.
      .catch((error) =>
        this.log.warn({ reconciliationId: id, reason: messageOf(error) }, 'reconciliation could not be recorded'),
      )
      .finally(() => this.inFlight.delete(run));
    this.inFlight.add(run);
    return id;
  }

  async drain(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  get(id: string) {
    return this.tables.get(this.db, this.tenancy.current, id);
  }

  /** Newest first, without their drifts; undefined when `before` names none of the tenant's. */
  newest(limit: number, before?: string) {
    return this.tables.newest(this.db, this.tenancy.current, limit, before);
  }

  async reconcile(period: string) {
    const tenant = this.tenancy.current;
    const [accounts, plans] = await Promise.all([
      this.registry.accounts(this.db, tenant),
      this.registry.plans(this.db, tenant),
    ]);
    // 1. The rollups, account by account, each with the ledger position it reflects.
    const work = [];
    // Time-weighted levels held until now at most: the rollups are asked, and the ledger re-derived, up to this instant.
    const asOf = this.clock();
    for (const account of accounts) {
      const bounds = billingPeriodByLabel(period, account.timezone, account.anchorDay);
      for (const subscription of account.subscriptions) {
        const segments = planSegments(subscription, bounds, plans);
        // No part of the period is the subscription's (now): only a finalized invoice, if any, is compared (to nothing).
        if (segments.length === 0) {
          work.push({ account, subscription, bounds, segments, charges: [], snapshot: { values: [], position: null } });
          continue;
        }
        const charges = segments.map(
          (s) => plans.get(s.planId)?.versions.find((v) => v.version === s.planVersion)?.charges ?? [],
        );
        const meters = [
          ...new Map(
            charges.flat().map((c) => [`${c.meter}\u0000${c.per ?? ''}`, { meter: c.meter, per: c.per }]),
          ).values(),
        ];
        const snapshot = await this.usage.snapshot({
          accountId: account.accountId,
          intervals: segments.map((s) => ({ from: s.from, to: s.to })),
          meters,
          asOf: asOf.toISOString(),
        });
        work.push({ account, subscription, bounds, segments, charges, snapshot });
      }
    }
    // 2. The ledger, read up to the newest position the rollups reflected (nothing they could not have seen yet):
    // invoicing's own fold, caught up from its checkpoint (the ledger's tail), then the period's rows of it.
    const snapshotsUpTo = work.reduce<bigint>(
      (max, w) => (w.snapshot.position !== null && w.snapshot.position > max ? w.snapshot.position : max),
      0n,
    );
    await this.fold.catchUp(snapshotsUpTo);
    const window = work.reduce<{ from: string; to: string } | null>(
      (span, w) =>
        span === null
          ? { from: w.bounds.start, to: w.bounds.end }
          : {
              from: w.bounds.start < span.from ? w.bounds.start : span.from,
              to: w.bounds.end > span.to ? w.bounds.end : span.to,
            },
      null,
    );
    // `work`'s type evolves with its pushes, which a closure cannot see: a settled name for it.
    const planned = work;
    const ledger = await this.fold.read(tenant, window, (meters) => {
      const reads: TimeWeightedRead[] = [];
      for (const w of planned)
        w.segments.forEach((segment, i) => {
          for (const charge of w.charges[i]) {
            const meter = meters.get(charge.meter);
            if (meter?.aggregation !== 'TIME_WEIGHTED_SUM') continue;
            const { from, to } = timeWeightedInterval(meter, segment, asOf);
            if (to > from) reads.push({ meter, from: from.toISOString(), to: to.toISOString() });
          }
        });
      return reads;
    });
    // Another run may have folded further meanwhile (runs take turns): the rows then reflect that position.
    const upTo = ledger.position !== null && ledger.position > snapshotsUpTo ? ledger.position : snapshotsUpTo;
    // A meter's spans over an interval are the same for every account: computed once, read per account.
    const spans = new Map<string, ReturnType<typeof timeWeightedSpans>>();
    const spansOf = (meter: MeterCreatedV1, from: Date, to: Date) => {
      const key = JSON.stringify([meter.slug, from, to]);
      let found = spans.get(key);
      if (!found) spans.set(key, (found = timeWeightedSpans(meter, ledger.reports.get(meter.slug) ?? [], from, to)));
      return found;
    };
    const byAccount = new Map<string, LedgerUsageList>();
    for (const u of ledger.usage) for (const a of u.accounts) listIn(byAccount, a).push(u);
    const drifts: Drift[] = [];
    let groups = 0;
    let invoicesCompared = 0;
    for (const w of work) {
      const { account, subscription, segments, charges, snapshot } = w;
      const fromLedger = new Map<string, string>();
      const fromRollups = new Map<string, string>();
      for (const v of snapshot.values) {
        const index = charges[v.interval].findIndex((c) => c.meter === v.meter && c.per === v.per);
        if (index >= 0) fromRollups.set(key(segments[v.interval], v.meter, v.perValue), v.quantity);
      }
      segments.forEach((segment, i) => {
        for (const charge of charges[i]) {
          const meter = ledger.meters.get(charge.meter);
          if (!meter) continue;
          if (meter.aggregation === 'TIME_WEIGHTED_SUM') {
            // Levels carry in from before the segment and from other accounts' reports (read with the view).
            const { from, to } = timeWeightedInterval(meter, segment, asOf);
            if (to > from)
              for (const [perValue, value] of timeWeightedValues(
                spansOf(meter, from, to),
                account.accountId,
                charge.per,
              ))
                fromLedger.set(key(segment, charge.meter, perValue), value);
            continue;
          }
          const usage = (byAccount.get(account.accountId) ?? []).filter(
            (u) =>
              !u.voided &&
              u.eventType === meter.eventType &&
              u.attribution?.status === 'attributed' &&
              u.attribution.accountId === account.accountId &&
              u.time >= segment.from &&
              u.time < segment.to &&
              // The meter counts nothing before its eventFrom (as the rollups read it).
              (!meter.eventFrom || Date.parse(u.time) >= Date.parse(meter.eventFrom)),
          );
          const byGroup = new Map<string | null, typeof usage>();
          for (const u of usage) {
            const value =
              charge.per === null
                ? null
                : ((u.attribution?.status === 'attributed' ? u.attribution.attributes[charge.per] : undefined) ?? null);
            listIn(byGroup, value).push(u);
          }
          for (const [perValue, list] of byGroup) {
            const value = meterValue(meter, list);
            if (value !== undefined) fromLedger.set(key(segment, charge.meter, perValue), value);
          }
        }
      });
      const segmentOf = new Map(segments.map((x) => [segmentKey(x), x]));
      // 3. Ledger against rollups.
      for (const k of new Set([...fromLedger.keys(), ...fromRollups.keys()])) {
        groups += 1;
        const [sk, meter, perValue] = JSON.parse(k) as [string, string, string | null];
        const ledgerValue = fromLedger.get(k) ?? '0';
        const rollupValue = fromRollups.get(k) ?? '0';
        if (same(ledgerValue, rollupValue)) continue;
        const behind = snapshot.position !== null && snapshot.position < upTo;
        drifts.push({
          accountId: account.accountId,
          subscriptionId: subscription.subscriptionId,
          invoiceId: null,
          segment: segmentOf.get(sk) as Segment,
          meter,
          perValue,
          ledger: ledgerValue,
          rollups: rollupValue,
          invoiced: null,
          cause: behind ? 'rollups_behind' : 'rollups_differ',
          detail: behind
            ? `the rollups had applied the ledger up to position ${snapshot.position}, the ledger was read up to ${upTo}: re-run once aggregation_usage_rollup has caught up`
            : 'the aggregation_usage_rollup projection disagrees with the ledger: rebuild it (POST /v1/admin/projections/aggregation_usage_rollup/rebuild) and re-run',
        });
      }
      // 4. Ledger against the finalized invoice and everything billed for it since.
      const { invoice, billed } = await this.invoices.billedSoFar(account, subscription, w.bounds);
      if (invoice.state.status !== 'finalized') continue;
      invoicesCompared += 1;
      const finalizedAt = BigInt(invoice.state.document?.finalizedPosition ?? '-1');
      const invoiced = billedQuantities(billed);
      const invoicedByKey = new Map<string, string>();
      for (const [g, quantity] of invoiced) {
        const [from, to, planId, planVersion, meter, perValue] = JSON.parse(g) as [
          string,
          string,
          string,
          number,
          string,
          string | null,
        ];
        const segment = { from, to, planId, planVersion };
        // A segment the subscription no longer has (its plan or dates changed since): compared with nothing.
        if (!segmentOf.has(segmentKey(segment))) segmentOf.set(segmentKey(segment), segment);
        invoicedByKey.set(key(segment, meter, perValue), quantity);
      }
      for (const k of new Set([...fromLedger.keys(), ...invoicedByKey.keys()])) {
        const [sk, meter, perValue] = JSON.parse(k) as [string, string, string | null];
        const ledgerValue = fromLedger.get(k) ?? '0';
        const invoicedValue = invoicedByKey.get(k) ?? '0';
        if (same(ledgerValue, invoicedValue)) continue;
        const segment = segmentOf.get(sk) as Segment;
        // The rows read cover the accounts' periods now; a segment billed outside them (dates changed since) is asked.
        const changedSince =
          window && segment.from >= window.from && segment.to <= window.to
            ? (byAccount.get(account.accountId) ?? []).some(
                (u) =>
                  u.accounts.has(account.accountId) &&
                  u.time >= segment.from &&
                  u.time < segment.to &&
                  u.lastPosition > finalizedAt,
              )
            : await this.fold.changedAfter(tenant, account.accountId, segment.from, segment.to, finalizedAt);
        drifts.push({
          accountId: account.accountId,
          subscriptionId: subscription.subscriptionId,
          invoiceId: invoice.invoiceId,
          segment,
          meter,
          perValue,
          ledger: ledgerValue,
          rollups: fromRollups.get(k) ?? '0',
          invoiced: invoicedValue,
          cause: changedSince ? 'changed_after_finalization' : 'invoice_differs',
          detail: changedSince
            ? 'usage or corrections for this period reached the ledger after the invoice was finalized: billed as an adjustment (or a credit note) when the next invoice of the subscription finalizes'
            : 'the finalized invoice and its adjustments bill another quantity than the ledger holds',
        });
      }
    }
    return {
      period,
      ledgerPosition: upTo.toString(),
      accounts: accounts.length,
      subscriptions: work.filter((w) => w.segments.length > 0).length,
      groupsCompared: groups,
      invoicesCompared,
      drifts,
    };
  }
}
