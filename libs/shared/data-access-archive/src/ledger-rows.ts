import type { Pool } from 'pg';
import type { ArchiveRow } from './archive-row';

interface Row {
  global_position: string;
  stream_name: string;
  stream_revision: string;
  event_id: string;
  event_type: string;
  data: string;
  metadata: string;
  recorded_at_us: string;
}

/**
 * Ledger rows after a position, in position order, as text: jsonb as its JSON text (numbers keep their
 * digits) and recorded_at as exact epoch microseconds (extract(epoch …) is numeric, so no float rounding).
 */
export const readLedgerRows = async (
  pool: Pool,
  ledgerSchema: string,
  after: bigint,
  limit: number,
): Promise<ArchiveRow[]> => {
  const { rows } = await pool.query<Row>(
    `select global_position::text, stream_name, stream_revision::text, event_id::text, event_type,
            data::text as data, metadata::text as metadata,
            (extract(epoch from recorded_at) * 1000000)::bigint::text as recorded_at_us
       from "${ledgerSchema}".events e where e.global_position > $1
      -- qualified: a bare name would order by the text output column of the same name ('10' < '9')
      order by e.global_position limit $2`,
    [after.toString(), limit],
  );
  return rows.map((r) => ({
    globalPosition: BigInt(r.global_position),
    streamName: r.stream_name,
    streamRevision: BigInt(r.stream_revision),
    eventId: r.event_id,
    eventType: r.event_type,
    data: r.data,
    metadata: r.metadata,
    recordedAtMicros: BigInt(r.recorded_at_us),
  }));
};
