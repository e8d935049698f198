import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { MeterQueryTables, MeterTables } from '@tally/aggregation/data-access-usage';
import { Meter, MeterQuery, projectedQuantity } from '@tally/aggregation/domain';
import {
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
@Injectable()
export class BillableUsageResponder {
  private serving?: Consumer;

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

  async start(): Promise<void> {
    this.serving = await this.bus.serveRequests(billableUsageSubject, 'aggregation_billable_usage', (request) =>
      this.answer(request),
    );
  }

  async stop(): Promise<void> {
    await this.serving?.stop();
  }

  async answer(request: Request) {
    let reply: BillableUsageReplyV1;
    try {
      reply = await this.billableUsage(decodeJson<BillableUsageRequestV1>(request.data));
    } catch (error) {
      // A request that does not decode is the asker's fault; anything else (Postgres away) passes, so the asker retries.
      const type = error instanceof PoisonMessageError ? 'bad_request' : 'unavailable';
      this.log.warn({ outcome: type, reason: messageOf(error) }, 'billable usage query failed');
      reply = { ok: false, error: { type, detail: messageOf(error) } };
    }
    return { data: encodeJson(reply) };
  }

  private async billableUsage(request: BillableUsageRequestV1): Promise<BillableUsageReplyV1> {
    const intervals = request.intervals.map((i) => ({ from: parseRfc3339(i.from), to: parseRfc3339(i.to) }));
    if (intervals.some((i) => !i.from || !i.to || i.from > i.to))
      return { ok: false, error: { type: 'bad_request', detail: 'every interval needs RFC 3339 from ≤ to' } };
    if (request.asOf !== undefined && !parseRfc3339(request.asOf))
      return { ok: false, error: { type: 'bad_request', detail: 'asOf must be an RFC 3339 instant' } };
    if (request.fresh && !(await this.rollups.reachedLedgerHead()))
      return {
        ok: false,
        error: {
          type: 'rollups_behind',
          detail: 'aggregation_usage_rollup has not applied the ledger yet (rebuilding or lagging)',
        },
      };
    // One snapshot: the values and the rollup checkpoint they correspond to (reconciliation compares the ledger up to it).
    return inReadOnlySnapshot(this.db, async (tx) => {
      const [checkpoint] = (await tx.query(
        `select position::text as position from "${this.postgres.schemaFor('aggregation')}".projection_checkpoints where name = 'aggregation_usage_rollup'`,
      )) as { position: string }[];
      return this.read(tx, request, intervals as { from: Date; to: Date }[], checkpoint?.position ?? '0');
    });
  }

  private async read(
    tx: EntityManager,
    request: BillableUsageRequestV1,
    intervals: { from: Date; to: Date }[],
    position: string,
  ): Promise<BillableUsageReplyV1> {
    const catalog = new Map((await this.meters.active(tx, request.tenant)).map((m) => [m.slug, m]));
    const asOf = request.asOf !== undefined ? (parseRfc3339(request.asOf) as Date) : this.clock();
    // Every (meter, interval) asked, in the reply's order.
    const asked: { meter: Meter; per: string | null; interval: number; query: MeterQuery }[] = [];
    for (const { meter: slug, per } of request.meters) {
      const meter = catalog.get(slug);
      if (!meter) return { ok: false, error: { type: 'unknown_meter', detail: `no live meter ${slug}` } };
      for (const [interval, { from, to }] of intervals.entries())
        asked.push({
          meter,
          per,
          interval,
          query: {
            from,
            to,
            windowTimeZone: 'UTC',
            accountId: request.accountId,
            subjects: [],
            groupBy: [],
            filterGroupBy: {},
            attributeGroups: per ? [per] : [],
            ...(request.asOf !== undefined && { asOf: parseRfc3339(request.asOf) }),
          },
        });
    }
    // Those the hourly buckets answer, in one statement: it was one per meter and interval (a Forge plan charges
    // twelve meters), each a round trip in the request's snapshot.
    const fromBuckets = new Map<number, { perValue: string | null; value: string }[]>();
    const batched = asked.flatMap((a, key) =>
      this.queries.answersFromBuckets(a.meter, a.query)
        ? [
            {
              key,
              meter: a.meter,
              accountId: request.accountId,
              from: a.query.from,
              to: a.query.to,
              ...(a.meter.eventFrom && { since: new Date(a.meter.eventFrom) }),
              per: a.per,
            },
          ]
        : [],
    );
    for (const total of await this.queries.totalsFromBuckets(tx, request.tenant, batched)) {
      const rows = fromBuckets.get(total.key);
      if (rows) rows.push(total);
      else fromBuckets.set(total.key, [total]);
    }
    const batchedKeys = new Set(batched.map((b) => b.key));

    const values: BillableUsageValueV1[] = [];
    for (const [key, { meter, per, interval, query }] of asked.entries()) {
      const { from, to } = query;
      const totals = async (q: MeterQuery) =>
        (await this.queries.query(tx, request.tenant, meter, q)).map((row) => ({
          perValue: per ? (row.attributes?.[per] ?? null) : null,
          value: row.value,
        }));
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
    return { ok: true, values, position };
  }
}
