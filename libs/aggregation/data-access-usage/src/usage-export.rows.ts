import type { Pool } from 'pg';
import { isConnectionError } from '@tally/shared/data-access-pg-client';

/** One exported usage event, every field as Postgres wrote it as text (nothing passes through a JS number). */
export interface ExportRow {
  usageId: string;
  accountId: string;
  subject: string;
  eventType: string;
  /** RFC 3339 in UTC with milliseconds, as intake keeps event times. */
  time: string;
  /** The event time in epoch microseconds (Parquet's TIMESTAMP(MICROS)). */
  timeMicros: bigint;
  /** The jsonb's JSON text (`data::text`): a decimal keeps every digit it was sent with. */
  data: string;
  attributes: string;
  /** The ledger position of the last change applied to the fact (its recording, or a later move or amendment). */
  position: bigint;
}

export interface ExportRange {
  tenant: string;
  from: Date;
  to: Date;
  accountId?: string;
}

interface Row {
  usage_id: string;
  account_id: string;
  subject: string;
  event_type: string;
  time: string;
  time_us: string;
  data: string;
  attributes: string;
  position: string;
}

/**
 * The tenant's live, attributed usage in [from, to) of event time, in time then usage id order, a batch of at
 * most `batchSize` rows at a time, read through a server-side cursor so that only one batch is ever in memory.
 *
 * The cursor lives in one REPEATABLE READ, READ ONLY transaction: the export is one snapshot of the facts
 * (a move or void committed meanwhile is in all of it or none of it). Its client is held until the last batch
 * is read or the consumer stops early (the generator's `finally`: closing it releases the client). A connection
 * that breaks is released with its error, so the pool discards it, and the error reaches the consumer.
 */
export async function* readExportBatches(
  pool: Pool,
  schema: string,
  range: ExportRange,
  batchSize: number,
): AsyncGenerator<ExportRow[]> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // pg emits `error` on a checked-out client whose connection dies between queries: held here, never thrown at the process.
  const onError = (error: Error) => (broken = error);
  client.on('error', onError);
  let open = false;
  let pending: Promise<unknown> | undefined;
  try {
    await client.query('begin isolation level repeatable read read only');
    open = true;
    await client.query(
      `declare usage_export no scroll cursor for
       select usage_id::text, account_id, subject, event_type,
              to_char(time at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as time,
              (extract(epoch from time) * 1000000)::bigint::text as time_us,
              data::text as data, attributes::text as attributes, last_position::text as position
         from "${schema}".usage_facts f
        where f.tenant = $1 and f.time >= $2 and f.time < $3 and not f.voided and f.account_id is not null
          and ($4::text is null or f.account_id = $4)
        order by f.time, f.usage_id`,
      [range.tenant, range.from.toISOString(), range.to.toISOString(), range.accountId ?? null],
    );
    const fetchBatch = () => client.query<Row>(`fetch forward ${Math.trunc(batchSize)} from usage_export`);
    for (let fetching = fetchBatch(); ;) {
      const { rows } = await fetching;
      if (rows.length === 0) break;
      const more = rows.length === batchSize;
      // The next batch is read while this one is written out: at most two batches in memory, Postgres and the
      // encoder working at the same time.
      if (more) {
        fetching = fetchBatch();
        // Handled at once: a fetch that fails while the consumer is still busy with this batch must not be an
        // unhandled rejection; the loop's `await fetching` still throws its error.
        pending = fetching.catch(() => undefined);
      }
      yield rows.map(exportRow);
      if (!more) break;
    }
    await client.query('commit');
    open = false;
  } catch (error) {
    if (isConnectionError(error)) broken ??= error as Error;
    throw error;
  } finally {
    // Stopped early (the reader went away) or failed: end the transaction, which closes the cursor. A fetch still
    // under way finishes first (pg runs a client's queries in order); its outcome no longer matters.
    await pending;
    if (open && !broken) await client.query('rollback').catch((error: Error) => (broken = error));
    client.removeListener('error', onError);
    client.release(broken);
  }
}

const exportRow = (r: Row): ExportRow => ({
  usageId: r.usage_id,
  accountId: r.account_id,
  subject: r.subject,
  eventType: r.event_type,
  time: r.time,
  timeMicros: BigInt(r.time_us),
  data: r.data,
  attributes: r.attributes,
  position: BigInt(r.position),
});
