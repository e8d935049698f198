import { inSpan } from '@tally/shared/util-telemetry';
import { appendSpan, withAmbientMetadata } from '../telemetry';
import { Client, Pool, PoolClient } from 'pg';
import { CopyField, copyRows, inTransaction, openClient, openPool } from '@tally/shared/data-access-pg-client';
import {
  AppendResult,
  EventStore,
  JsonObject,
  LedgerPrunedError,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
  revisionMatches,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { sleep } from '@tally/shared/util-core';
import { pollingSubscription } from '../polling-subscription';
import { ledgerSchemaSql } from './schema.sql';

interface Row {
  global_position: string;
  stream_name: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: JsonObject;
  metadata: JsonObject;
  recorded_at: Date;
}

const toRecorded = (row: Row): RecordedEvent => ({
  id: row.event_id,
  type: row.event_type,
  data: row.data,
  metadata: row.metadata,
  streamName: row.stream_name,
  streamRevision: BigInt(row.stream_revision),
  globalPosition: BigInt(row.global_position),
  recordedAt: row.recorded_at,
});

const columns = 'global_position, stream_name, stream_revision, event_id, event_type, data, metadata, recorded_at';

/** The position the hot ledger was pruned up to, beside every read (LedgerPrunedError). */
interface PrunedColumn {
  pruned_through: string;
}

export interface PostgresEventStoreOptions {
  connectionString: string;
  schema: string;
  poolSize?: number;
}

const ledgerColumns = ['stream_name', 'stream_revision', 'event_id', 'event_type', 'data', 'metadata'] as const;

/** NOTIFY's payload limit is 8,000 bytes: past it, an empty payload, which wakes every waiter. */
const notificationLimit = 7_000;

/**
 * The notification of an append: its distinct event types, comma-separated — or empty (wake everyone) when
 * they do not fit, or a type holds a comma itself.
 */
const notificationOf = (appends: readonly StreamAppend[]): string => {
  const types = [...new Set(appends.flatMap((a) => a.events.map((e) => e.type)))];
  const payload = types.join(',');
  return payload.length <= notificationLimit && !types.some((type) => type.includes(',')) ? payload : '';
};

/** The types a notification names; undefined (anything) for an empty payload. */
const appendedTypes = (payload: string | undefined): string[] | undefined => (payload ? payload.split(',') : undefined);

/**
 * The default ledger. Appends are serialised by one transaction-scoped advisory lock: that is what
 * makes global positions commit in order (so a subscription can never skip a late-committing event)
 * and makes the "already stored?" check exact. Appends are batched by callers, so one lock per batch.
 */
export class PostgresEventStore implements EventStore {
  private readonly pool: Pool;
  private readonly schema: string;
  private readonly channel: string;
  private listener?: Client;
  private listening?: Promise<void>;
  private closed = false;
  private readonly closing = new AbortController();
  /** Subscriptions waiting for news: each wakes on an append of one of its types (every append when untyped). */
  private readonly waiters = new Map<() => void, ReadonlySet<string> | undefined>();

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.schema = options.schema;
    this.channel = `${options.schema}_appended`;
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool = openPool({ connectionString: options.connectionString, max: options.poolSize ?? 5 });
  }

  async init(): Promise<void> {
    // Serialise concurrent start-ups creating the same schema (a transaction lock: it cannot outlive a lost connection).
    await inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.ddl`]);
      await client.query(ledgerSchemaSql(this.schema));
    });
  }

  appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: StreamAppend['expectedRevision'] },
  ): Promise<AppendResult> {
    return this.appendToStreams([{ stream, events, expectedRevision: options?.expectedRevision }]).then(
      ([result]) => result,
    );
  }

  async appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    return inSpan('ledger append', appendSpan(appends, 'postgres'), () =>
      inTransaction(this.pool, async (client) => {
        await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.append`]);
        return this.appendLocked(client, withAmbientMetadata(appends));
      }),
    );
  }

  private async appendLocked(client: PoolClient, appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const allIds = appends.flatMap((a) => a.events.map((e) => e.id));
    const stored = new Set(
      (
        await client.query<{ event_id: string }>(
          `select event_id from "${this.schema}".events where event_id = any($1::uuid[])
           union all select event_id from "${this.schema}".pruned_event_ids where event_id = any($1::uuid[])`,
          [allIds],
        )
      ).rows.map((r) => r.event_id),
    );
    const streams = [...new Set(appends.map((a) => a.stream))];
    const current = new Map<string, bigint | undefined>(
      (
        await client.query<{ name: string; revision: string | null }>(
          // greatest() skips nulls: a stream whose oldest rows were pruned goes on from its last pruned revision.
          `select s.name, greatest((select max(stream_revision) from "${this.schema}".events e where e.stream_name = s.name),
                                   (select last_revision from "${this.schema}".pruned_streams p where p.stream_name = s.name)) as revision
             from unnest($1::text[]) as s(name)`,
          [streams],
        )
      ).rows.map((r) => [r.name, r.revision === null ? undefined : BigInt(r.revision)]),
    );

    const rows: CopyField[][] = [];
    const results: AppendResult[] = [];
    for (const append of appends) {
      const fresh = append.events.filter((event) => !stored.has(event.id.toLowerCase()));
      let revision = current.get(append.stream);
      if (fresh.length > 0 && !revisionMatches(append.expectedRevision ?? 'any', revision)) {
        throw new WrongExpectedRevisionError(append.stream, append.expectedRevision ?? 'any', revision ?? 'no_stream');
      }
      for (const event of fresh) {
        revision = revision === undefined ? 0n : revision + 1n;
        stored.add(event.id.toLowerCase());
        rows.push([
          append.stream,
          revision.toString(),
          event.id,
          event.type,
          JSON.stringify(event.data),
          JSON.stringify(event.metadata ?? {}),
        ]);
      }
      current.set(append.stream, revision);
      results.push({ nextExpectedRevision: revision ?? -1n, written: fresh.length });
    }
    if (rows.length > 0) {
      // COPY: each value parsed once, straight into its column (one JSON document through jsonb_to_recordset,
      // the previous way, was itself 1.7× unnest over text arrays; see docs/benchmarks.md for COPY's gain).
      await copyRows(client, `"${this.schema}".events`, ledgerColumns, rows);
      await client.query('select pg_notify($1, $2)', [this.channel, notificationOf(appends)]);
    }
    return results;
  }

  async readStream(stream: string, options?: { fromRevision?: bigint; maxCount?: number }): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<Row>(
      `select ${columns} from "${this.schema}".events
        where stream_name = $1 and stream_revision >= $2 order by stream_revision limit $3`,
      [stream, (options?.fromRevision ?? 0n).toString(), options?.maxCount ?? 1_000_000],
    );
    return rows.map(toRecorded);
  }

  async readStreams(streams: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    const read = new Map<string, RecordedEvent[]>(streams.map((s) => [s, []]));
    if (read.size === 0) return read;
    const { rows } = await this.pool.query<Row>(
      `select ${columns} from "${this.schema}".events
        where stream_name = any($1::text[]) order by stream_name, stream_revision`,
      [[...read.keys()]],
    );
    for (const row of rows) read.get(row.stream_name)?.push(toRecorded(row));
    return read;
  }

  async streamRevisions(streams: readonly string[]): Promise<Map<string, bigint>> {
    if (streams.length === 0) return new Map();
    const { rows } = await this.pool.query<{ name: string; revision: string | null }>(
      // As an append reads them: a stream whose oldest rows were pruned goes on from its last pruned revision.
      `select s.name, greatest((select max(stream_revision) from "${this.schema}".events e where e.stream_name = s.name),
                               (select last_revision from "${this.schema}".pruned_streams p where p.stream_name = s.name)) as revision
         from unnest($1::text[]) as s(name)`,
      [[...new Set(streams)]],
    );
    return new Map(rows.flatMap((r) => (r.revision === null ? [] : [[r.name, BigInt(r.revision)] as const])));
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const params: unknown[] = [(options?.after ?? 0n).toString(), options?.maxCount ?? 1_000];
    // Fields left out in Postgres (jsonb minus text[]): neither sent nor parsed.
    const omit = (at: number) =>
      options?.omitData?.length ? columns.replace(/\bdata,/, `data - $${at}::text[] as data,`) : columns;
    if (!options?.eventTypes) {
      const { rows } = await this.pool.query<Row & PrunedColumn>(
        this.guarded(
          `select ${omit(3)} from "${this.schema}".events where global_position > $1 order by global_position limit $2`,
        ),
        options?.omitData?.length ? [...params, [...options.omitData]] : params,
      );
      return this.unlessPruned(options?.after, rows).map(toRecorded);
    }
    // One range scan per type of the (event_type, global_position) index, merged. A plain `event_type = any(…)`
    // ordered by position is planned as a walk of the primary key, which reads every event after `after`: a
    // projection parked before a long tail of other types (invoice events after the last usage) read the whole
    // tail on every poll (15 ms per 100,000 events). The row comparison is what makes the planner take the range.
    const { rows } = await this.pool.query<Row & PrunedColumn>(
      this.guarded(
        `select e.* from unnest($3::text[]) as t(event_type)
           cross join lateral (
             select ${omit(4)} from "${this.schema}".events x
              where (x.event_type, x.global_position) > (t.event_type, $1::bigint) and x.event_type <= t.event_type
              order by x.event_type, x.global_position limit $2) e
          order by e.global_position limit $2`,
      ),
      [...params, [...new Set(options.eventTypes)], ...(options.omitData?.length ? [[...options.omitData]] : [])],
    );
    return this.unlessPruned(options.after, rows).map(toRecorded);
  }

  /**
   * A read and the position pruned up to, in one statement (one snapshot): rows are only trusted from a read
   * whose `after` is not below it. Always one row at least (the watermark), with null columns when no event follows.
   */
  private guarded(read: string): string {
    return `select w.pruned_through, r.* from
              (select coalesce((select through from "${this.schema}".pruned_through), 0)::text as pruned_through) w
              left join lateral (${read}) r on true`;
  }

  private unlessPruned<R extends PrunedColumn & { global_position: string | null }>(
    after: bigint | undefined,
    rows: R[],
  ): R[] {
    const pruned = BigInt(rows[0]?.pruned_through ?? '0');
    if ((after ?? 0n) < pruned) throw new LedgerPrunedError(after ?? 0n, pruned);
    return rows.filter((row) => row.global_position !== null);
  }

  async countAfter(options: { after?: bigint; eventTypes?: readonly string[]; limit: number }): Promise<number> {
    const after = (options.after ?? 0n).toString();
    // Index-only range scans (per type, as in readAll), each stopped at the limit.
    const { rows } = options.eventTypes
      ? await this.pool.query<{ n: string; pruned_through: string; global_position: null }>(
          this.guarded(
            `select null as global_position, least(coalesce(sum(c), 0), $2)::text as n from unnest($3::text[]) as t(event_type)
               cross join lateral (
                 select count(*) as c from (
                   select 1 from "${this.schema}".events x
                    where (x.event_type, x.global_position) > (t.event_type, $1::bigint) and x.event_type <= t.event_type
                    limit $2) one_type) counted`,
          ),
          [after, options.limit, [...new Set(options.eventTypes)]],
        )
      : await this.pool.query<{ n: string; pruned_through: string; global_position: null }>(
          this.guarded(
            `select null as global_position, count(*)::text as n from (select 1 from "${this.schema}".events where global_position > $1 limit $2) x`,
          ),
          [after, options.limit],
        );
    this.unlessPruned(options.after, rows);
    return Number(rows[0]?.n ?? 0);
  }

  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    this.listen();
    return pollingSubscription(
      (after, maxCount) =>
        this.readAll({ after, maxCount, eventTypes: options.eventTypes, omitData: options.omitData }),
      (ms, signal) => this.waitForAppend(ms, signal, options.eventTypes),
      options,
    );
  }

  /**
   * One LISTEN connection per store wakes every subscription; polling covers a lost notification. When the
   * connection drops (Postgres restarted), it is opened again with backoff until it works, for as long as
   * the store is open; meanwhile subscriptions poll.
   */
  private listen(): void {
    if (this.listening || this.closed) return;
    this.listening = (async () => {
      for (let attempt = 0; !this.closed; attempt++) {
        const lost = new AbortController();
        try {
          const listener = await openClient(this.options.connectionString, () => lost.abort());
          listener.on('end', () => lost.abort());
          listener.on('notification', (message) => this.wakeAll(appendedTypes(message.payload)));
          this.listener = listener;
          await listener.query(`listen "${this.channel}"`);
          attempt = 0;
          this.wakeAll(); // appends made while no one listened
          await sleep(2 ** 31 - 1, AbortSignal.any([lost.signal, this.closing.signal]));
        } catch {
          // Postgres is away: try again shortly.
        }
        await this.listener?.end().catch(() => undefined);
        this.listener = undefined;
        if (!this.closed) await sleep(Math.min(5_000, 250 * 2 ** attempt), this.closing.signal);
      }
    })();
  }

  /** Wakes the waiters for these types (all of them when the types are unknown). */
  private wakeAll(types?: readonly string[]): void {
    for (const [wake, wanted] of this.waiters)
      if (!types || !wanted || types.some((type) => wanted.has(type))) {
        this.waiters.delete(wake);
        wake();
      }
  }

  /**
   * Resolves at the next append (a notification) of one of `eventTypes` (of anything when unset), after
   * maxWaitMs, or when the signal aborts: what a subscription built elsewhere on readAll (the archive's
   * TieredEventStore) waits on when caught up. Typed: every append used to wake every projection of a process,
   * and each then read the ledger for nothing (≈ 5 reads per invoice appended in a billing run).
   */
  async waitForAppend(maxWaitMs: number, signal: AbortSignal, eventTypes?: readonly string[]): Promise<void> {
    this.listen();
    const woken = new AbortController();
    const wake = () => woken.abort();
    this.waiters.set(wake, eventTypes && new Set(eventTypes));
    signal.addEventListener('abort', wake, { once: true });
    await sleep(maxWaitMs, woken.signal);
    this.waiters.delete(wake);
    signal.removeEventListener('abort', wake);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    this.wakeAll();
    await this.listening;
    await this.pool.end();
  }
}
