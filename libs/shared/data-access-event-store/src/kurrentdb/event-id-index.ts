import { Pool, PoolClient } from 'pg';
import { inTransaction, openPool } from '@tally/shared/data-access-pg-client';

export interface Pin {
  /** The stream the id was first appended to: the only stream it may ever be written to. */
  stream: string;
  /** written: the ledger holds it; pending: an append was begun and its outcome is not known here. */
  state: 'pending' | 'written';
  pinnedAt: Date;
  /** Pinned by this very call (not by an earlier, perhaps interrupted, attempt). */
  fresh: boolean;
}

/**
 * Store-wide exactness for a ledger that only recognises re-sent event ids per stream (KurrentDB): a
 * Postgres table of event ids, each pinned to the stream it was first appended to.
 *
 * The protocol, per append:
 * 1. `pin`: insert (id, stream, pending) for ids not yet known — committed before anything is appended,
 *    so a later attempt knows the id was begun and where.
 * 2. `whileLocked`: in one transaction the ids' rows are locked (concurrent appenders of the same id
 *    queue here); ids `written` are skipped; `pending` ids pinned by an earlier attempt are first looked
 *    for in their pinned stream (that attempt may have appended them before it died); the rest are
 *    appended to their pinned stream, then marked `written`, and the transaction commits.
 *
 * Failure modes: Postgres unreachable → appends fail (transient: the caller retries; nothing is written
 * to the ledger without its pin). A crash between the ledger append and the commit of step 2 leaves the
 * ids pending: the next attempt finds them in their stream and does not append them again. Rows older
 * than the retention (the lateness horizon and a margin) are pruned: no event that old is accepted again.
 */
export class EventIdIndex {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  static open(connectionString: string, schema: string): EventIdIndex {
    return new EventIdIndex(openPool({ connectionString, max: 4 }), schema);
  }

  private get table(): string {
    return `"${this.schema}".event_ids`;
  }

  async init(): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.ddl`]);
      await client.query(`create schema if not exists "${this.schema}"`);
      await client.query(`create table if not exists ${this.table} (
        event_id  uuid primary key,
        stream    text not null,
        state     text not null check (state in ('pending', 'written')),
        pinned_at timestamptz not null default now())`);
      await client.query(`create index if not exists event_ids_pinned_at_idx on ${this.table} (pinned_at)`);
    });
  }

  /** Step 1: pins the ids not yet known to the stream given; committed on return. */
  async pin(entries: readonly { id: string; stream: string }[]): Promise<Set<string>> {
    if (entries.length === 0) return new Set();
    const { rows } = await this.pool.query<{ event_id: string }>(
      `insert into ${this.table} (event_id, stream, state) select id, stream, 'pending' from unnest($1::uuid[], $2::text[]) as x(id, stream)
       on conflict (event_id) do nothing returning event_id`,
      [entries.map((e) => e.id), entries.map((e) => e.stream)],
    );
    return new Set(rows.map((r) => r.event_id));
  }

  /**
   * Step 2: with the ids' rows locked, `work` decides and appends, returning the ids the ledger now holds
   * (appended now or found there); those are marked written in the same transaction.
   */
  async whileLocked<T>(
    ids: readonly string[],
    fresh: ReadonlySet<string>,
    work: (pins: ReadonlyMap<string, Pin>) => Promise<{ result: T; held: readonly string[] }>,
  ): Promise<T> {
    return inTransaction(this.pool, async (client: PoolClient) => {
      const { rows } = await client.query<{ event_id: string; stream: string; state: Pin['state']; pinned_at: Date }>(
        `select event_id, stream, state, pinned_at from ${this.table} where event_id = any($1::uuid[]) order by event_id for update`,
        [ids],
      );
      const pins = new Map(
        rows.map((r) => [
          r.event_id,
          { stream: r.stream, state: r.state, pinnedAt: r.pinned_at, fresh: fresh.has(r.event_id) },
        ]),
      );
      const { result, held } = await work(pins);
      if (held.length > 0)
        await client.query(`update ${this.table} set state = 'written' where event_id = any($1::uuid[])`, [held]);
      return result;
    });
  }

  /** Drops pins older than the retention; answers how many. */
  async prune(olderThan: Date): Promise<number> {
    const { rowCount } = await this.pool.query(`delete from ${this.table} where pinned_at < $1`, [olderThan]);
    return rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
