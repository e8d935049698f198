import { Inject, Injectable } from '@nestjs/common';
import { Sema } from 'async-sema';
import { DataSource, EntityManager } from 'typeorm';
import {
  ChangedRanges,
  ChangesAsk,
  MeterQueryTables,
  MeterTables,
  UsageChangeTables,
} from '@tally/aggregation/data-access-usage';
import { Meter, MeterQuery, projectedQuantity } from '@tally/aggregation/domain';
import {
  billableUsageBatchSubject,
  BillableUsageBatchReplyV1,
  BillableUsageBatchRequestV1,
  BillableUsageReplyV1,
  BillableUsageRequestV1,
  billableUsageSubject,
  BillableUsageValueV1,
} from '@tally/contracts/meters';
import {
  Consumer,
  decodeJson,
  encodeJson,
  MessageBus,
  PoisonMessageError,
  Request,
} from '@tally/shared/data-access-messaging';
import { inReadOnlySnapshot, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { Clock, CLOCK, Log, LOG, MESSAGE_BUS, POSTGRES, PostgresSettings } from '@tally/shared/feature-runtime';
import { messageOf, parseRfc3339 } from '@tally/shared/util-core';
import { AGGREGATION_DB, METER_QUERY_TABLES, METER_TABLES, ROLLUP_RUNNER } from './tokens';

/**
 * Answers invoicing's "how much did this account use" (`aggregation.qry.billable-usage.v1`) from the
 * rollups — the same numbers the meter query API shows. Every aggregation replica serves the queue group.
 */
/** A query as asked, without its tenant (the request's, or the batch's). */
type Query = Omit<BillableUsageRequestV1, 'tenant'>;
/** A query checked: its intervals parsed, or its answer already known (refused). */
type Checked = { query: Query; intervals: { from: Date; to: Date }[] } | { answer: BillableUsageReplyV1 };

/** How long invoicing waits for an answer (billable-usage.client): a query still waiting after that is dropped. */
const abandonedAfterMs = 30_000;

const refused = (type: 'bad_request' | 'rollups_behind' | 'unknown_meter', detail: string): BillableUsageReplyV1 => ({
  ok: false,
  error: { type, detail },
});

/**
 * The changed hours as periods see them: a time-weighted meter among those charged holds each subject's level until
 * its next report, across periods, so a change at one hour (of this account's reports, or of a report that ends one
 * of this account's levels: the rollups mark both) reaches on to `before`; a meter not in the catalog leaves nothing
 * to say (null).
 */
const markedChanges = (
  changed: Map<number, ChangedRanges>,
  checked: readonly Checked[],
  catalog: ReadonlyMap<string, Meter>,
): Map<number, ChangedRanges> => {
  for (const [q, ranges] of changed) {
    const changes = (checked[q] as { query: Query }).query.changes as NonNullable<Query['changes']>;
    const meters = changes.meters.map((slug) => catalog.get(slug));
    if (meters.some((m) => m === undefined)) changed.set(q, null);
    else if (ranges && ranges.length > 0 && meters.some((m) => m?.aggregation === 'TIME_WEIGHTED_SUM'))
      changed.set(q, [{ from: ranges[0].from, to: (parseRfc3339(changes.before) as Date).toISOString() }]);
  }
  return changed;
};

/**
 * Answers invoicing's "how much did this account use" (`aggregation.qry.billable-usage.v1`) from the
 * rollups — the same numbers the meter query API shows —, and many such queries at once
 * (`aggregation.qry.billable-usage-batch.v1`: a billing run's invoices in flight, one snapshot and one read of
 * the buckets for all). Every aggregation replica serves the queue group.
 */
@Injectable()
export class BillableUsageResponder {
  private serving: Consumer[] = [];

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(LOG) private readonly log: Log,
    @Inject(POSTGRES) private readonly postgres: PostgresSettings,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(METER_TABLES) private readonly meters: MeterTables,
    @Inject(METER_QUERY_TABLES) private readonly queries: MeterQueryTables,
    @Inject(ROLLUP_RUNNER) private readonly rollups: ProjectionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  private changeTables?: UsageChangeTables;

  private get changes(): UsageChangeTables {
    this.changeTables ??= new UsageChangeTables(this.postgres.schemaFor('aggregation'));
    return this.changeTables;
  }

  async start(): Promise<void> {
    this.serving = [
      await this.bus.serveRequests(billableUsageSubject, 'aggregation_billable_usage', (request) =>
        this.answer(request),
      ),
      await this.bus.serveRequests(billableUsageBatchSubject, 'aggregation_billable_usage', (request) =>
        this.answerBatch(request),
      ),
    ];
  }

  async stop(): Promise<void> {
    await Promise.all(this.serving.map((s) => s.stop()));
  }

  async answer(request: Request) {
    const arrived = Date.now();
    let reply: BillableUsageReplyV1;
    try {
      const { tenant, ...query } = decodeJson<BillableUsageRequestV1>(request.data);
      [reply] = await this.billableUsage(tenant, [query], arrived);
    } catch (error) {
      reply = { ok: false, error: this.failure(error) };
    }
    return { data: encodeJson(reply) };
  }

  async answerBatch(request: Request) {
    const arrived = Date.now();
    let reply: BillableUsageBatchReplyV1;
    try {
      const { tenant, queries } = decodeJson<BillableUsageBatchRequestV1>(request.data);
      if (!Array.isArray(queries)) throw new PoisonMessageError('a batch needs its queries (an array)');
      reply = { ok: true, answers: await this.billableUsage(tenant, queries, arrived) };
    } catch (error) {
      reply = { ok: false, error: this.failure(error) };
    }
    return { data: encodeJson(reply) };
  }

  /** A request that does not decode is the asker's fault; anything else (Postgres away) passes, so the asker retries. */
  private failure(error: unknown): { type: 'bad_request' | 'unavailable'; detail: string } {
    const type = error instanceof PoisonMessageError ? 'bad_request' : 'unavailable';
    this.log.warn({ outcome: type, reason: messageOf(error) }, 'billable usage query failed');
    return { type, detail: messageOf(error) };
  }

  /** A query as decoded from JSON: anything may be missing or of another type; refused in words, never thrown. */
  private check(query: Query): Checked {
    if (
      typeof query !== 'object' ||
      query === null ||
      !Array.isArray(query.intervals) ||
      !Array.isArray(query.meters) ||
      !query.meters.every((m) => typeof m?.meter === 'string' && (m.per === null || typeof m.per === 'string'))
    )
      return {
        answer: refused('bad_request', 'a query needs intervals and meters (arrays; each meter {meter, per})'),
      };
    const intervals = query.intervals.map((i) => ({
      from: parseRfc3339(i?.from ?? ''),
      to: parseRfc3339(i?.to ?? ''),
    }));
    if (intervals.some((i) => !i.from || !i.to || i.from > i.to))
      return { answer: refused('bad_request', 'every interval needs RFC 3339 from ≤ to') };
    if (query.asOf !== undefined && !parseRfc3339(query.asOf))
      return { answer: refused('bad_request', 'asOf must be an RFC 3339 instant') };
    if (
      query.changes !== undefined &&
      (typeof query.changes?.since !== 'string' ||
        !/^\d{1,19}$/.test(query.changes.since) ||
        !parseRfc3339(query.changes.before ?? '') ||
        !Array.isArray(query.changes.meters) ||
        !query.changes.meters.every((m) => typeof m === 'string'))
    )
      return {
        answer: refused(
          'bad_request',
          'changes needs since (a ledger position, decimal digits), before (an RFC 3339 instant) and meters (slugs)',
        ),
      };
    return { query, intervals: intervals as { from: Date; to: Date }[] };
  }

  /** Each query's answer, in order, all read in one snapshot of the rollups. */
  /** `arrived`: when the request came in (Date.now()), to drop it once its asker has given up. */
  private async billableUsage(
    tenant: string,
    queries: readonly Query[],
    arrived: number,
  ): Promise<BillableUsageReplyV1[]> {
    let checked = queries.map((q) => this.check(q));
    // Fresh: only from rollups that have applied the ledger — checked once for the batch.
    if (checked.some((c) => 'query' in c && c.query.fresh) && !(await this.rollups.reachedLedgerHead()))
      checked = checked.map((c) =>
        'query' in c && c.query.fresh
          ? {
              answer: refused(
                'rollups_behind',
                'aggregation_usage_rollup has not applied the ledger yet (rebuilding or lagging)',
              ),
            }
          : c,
      );
    const answers = checked.flatMap((c) => ('answer' in c ? [c.answer] : []));
    if (answers.length === checked.length) return answers;
    // One snapshot: the values and the rollup checkpoint they correspond to (reconciliation compares the ledger up to it).
    await this.snapshots.acquire();
    try {
      // The asker waits 30 s at most from its request: past that, nobody reads the answer.
      if (Date.now() - arrived > abandonedAfterMs)
        throw new Error('waited too long for a Postgres connection (the asker has given up); ask again');
      return await inReadOnlySnapshot(this.db, async (tx) => {
        const [checkpoint] = (await tx.query(
          `select position::text as position from "${this.postgres.schemaFor('aggregation')}".projection_checkpoints where name = 'aggregation_usage_rollup'`,
        )) as { position: string }[];
        // Fresh (what a finalization freezes) also needs the meter definitions the rollups counted with: the catalog
        // is another projection, and a finalization that rated with an older definition would settle its periods.
        const stale =
          checked.some((c) => 'query' in c && c.query.fresh) && (await this.changes.meterCatalogBehind(tx, tenant));
        const usable = stale
          ? checked.map((c) =>
              'query' in c && c.query.fresh
                ? {
                    answer: refused(
                      'rollups_behind',
                      'aggregation_meters has not applied a meter change the rollups have (lagging); retry shortly',
                    ),
                  }
                : c,
            )
          : checked;
        return this.read(tx, tenant, usable, checkpoint?.position ?? '0');
      });
    } finally {
      this.snapshots.release();
    }
  }

  /**
   * Snapshots taken at once, fewer than the pool's connections: a billing run's long reads waited on the pool, and
   * those past its connection timeout (5 s) failed as `unavailable` — work shed and asked again — while meter
   * queries and the rollups found no connection either. Beyond this many, queries wait here, in order.
   */
  private get snapshots(): Sema {
    this.snapshotSlots ??= new Sema(
      Math.max(1, ((this.db.options as { extra?: { max?: number } }).extra?.max ?? 5) - 2),
    );
    return this.snapshotSlots;
  }

  private snapshotSlots?: Sema;

  private async read(
    tx: EntityManager,
    tenant: string,
    checked: readonly Checked[],
    position: string,
  ): Promise<BillableUsageReplyV1[]> {
    const catalog = new Map((await this.meters.active(tx, tenant)).map((m) => [m.slug, m]));
    // Every (meter, interval) of every query, in each reply's order.
    type Ask = { meter: Meter; per: string | null; interval: number; query: MeterQuery };
    const asks: (Ask[] | BillableUsageReplyV1)[] = checked.map((c) => {
      if ('answer' in c) return c.answer;
      const asked: Ask[] = [];
      for (const { meter: slug, per } of c.query.meters) {
        const meter = catalog.get(slug);
        if (!meter) return refused('unknown_meter', `no live meter ${slug}`);
        for (const [interval, { from, to }] of c.intervals.entries())
          asked.push({
            meter,
            per,
            interval,
            query: {
              from,
              to,
              windowTimeZone: 'UTC',
              accountId: c.query.accountId,
              subjects: [],
              groupBy: [],
              filterGroupBy: {},
              attributeGroups: per ? [per] : [],
              ...(c.query.asOf !== undefined && { asOf: parseRfc3339(c.query.asOf) }),
            },
          });
      }
      return asked;
    });
    // Those the hourly buckets answer, of every query, in one statement: it was one per meter and interval (a Forge
    // plan charges twelve meters), each a round trip in the request's snapshot.
    // An ask's key: its place among all the batch's asks.
    const offsets: number[] = [];
    asks.reduce<number>(
      (offset, asked, q) => ((offsets[q] = offset), offset + (Array.isArray(asked) ? asked.length : 0)),
      0,
    );
    const keyOf = (query: number, ask: number) => offsets[query] + ask;
    const fromBuckets = new Map<number, { perValue: string | null; value: string }[]>();
    const batched = asks.flatMap((asked, q) =>
      Array.isArray(asked)
        ? asked.flatMap((a, n) =>
            this.queries.answersFromBuckets(a.meter, a.query)
              ? [
                  {
                    key: keyOf(q, n),
                    meter: a.meter,
                    accountId: a.query.accountId as string,
                    from: a.query.from,
                    to: a.query.to,
                    ...(a.meter.eventFrom && { since: new Date(a.meter.eventFrom) }),
                    per: a.per,
                  },
                ]
              : [],
          )
        : [],
    );
    for (const total of await this.queries.totalsFromBuckets(tx, tenant, batched)) {
      const rows = fromBuckets.get(total.key);
      if (rows) rows.push(total);
      else fromBuckets.set(total.key, [total]);
    }
    const batchedKeys = new Set(batched.map((b) => b.key));
    // Which hours changed since a position, for the queries that ask (invoicing, before it re-rates earlier periods).
    const changesAsked: ChangesAsk[] = checked.flatMap((c, q) =>
      'query' in c && c.query.changes && Array.isArray(asks[q])
        ? [
            {
              key: q,
              accountId: c.query.accountId,
              since: BigInt(c.query.changes.since),
              before: parseRfc3339(c.query.changes.before) as Date,
            },
          ]
        : [],
    );
    const changed = markedChanges(
      await this.changes.changedSince(tx, tenant, changesAsked, BigInt(position)),
      checked,
      catalog,
    );

    const replies: BillableUsageReplyV1[] = [];
    for (const [q, asked] of asks.entries()) {
      if (!Array.isArray(asked)) {
        replies.push(asked);
        continue;
      }
      const request = (checked[q] as { query: Query }).query;
      const asOf = request.asOf !== undefined ? (parseRfc3339(request.asOf) as Date) : this.clock();
      const values: BillableUsageValueV1[] = [];
      for (const [n, { meter, per, interval, query }] of asked.entries()) {
        const { from, to } = query;
        const totals = async (mq: MeterQuery) =>
          (await this.queries.query(tx, tenant, meter, mq)).map((row) => ({
            perValue: per ? (row.attributes?.[per] ?? null) : null,
            value: row.value,
          }));
        const key = keyOf(q, n);
        const rows = batchedKeys.has(key) ? (fromBuckets.get(key) ?? []) : await totals(query);
        // A gauge's projection is its levels held to the interval's end: the same query, read up to `to`.
        const held =
          request.project && projectedQuantity(meter.aggregation, '0', { from, to }, asOf) === 'levels'
            ? new Map((await totals({ ...query, asOf: to })).map((r) => [r.perValue, r.value]))
            : undefined;
        for (const row of rows) {
          const projected = request.project
            ? projectedQuantity(meter.aggregation, row.value, { from, to }, asOf)
            : undefined;
          values.push({
            interval,
            meter: meter.slug,
            per,
            perValue: row.perValue,
            quantity: row.value,
            ...(projected !== undefined && {
              projected: projected === 'levels' ? (held?.get(row.perValue) ?? row.value) : projected,
            }),
          });
        }
        // A subject whose level is held but reported nothing yet in the interval has no row so far: its projection does.
        for (const [perValue, value] of held ?? [])
          if (!rows.some((r) => r.perValue === perValue))
            values.push({ interval, meter: meter.slug, per, perValue, quantity: '0', projected: value });
      }
      replies.push({ ok: true, values, position, ...(changed.has(q) && { changed: changed.get(q) }) });
    }
    return replies;
  }
}
