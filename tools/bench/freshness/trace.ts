import { Client } from 'pg';
import { testDatabaseUrl } from '@tally/shared/testing';

/**
 * Where an accepted probe that was never seen stands, read straight from the namespace's tables before they are
 * dropped: intake's status row, the embedded bus's message and deliveries (Postgres-backed: embedded mode only), the
 * ledger's UsageRecorded, the rollup projection's checkpoint and the usage fact. One line per probe, each stage
 * "—" where nothing was found, so a lost event shows where it stopped and a late one how far it got.
 */
export const traceProbes = async (namespace: string, eventIds: readonly string[]): Promise<string[]> => {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  const one = async (sql: string, params: unknown[]): Promise<Record<string, unknown> | undefined> =>
    (await client.query(sql, params).catch((error: Error) => ({ rows: [{ error: error.message }] }))).rows[0];
  const show = (row: Record<string, unknown> | undefined) =>
    row
      ? Object.entries(row)
          .map(([k, v]) => `${k}=${v instanceof Date ? v.toISOString() : String(v)}`)
          .join(' ')
      : '—';
  try {
    const lines: string[] = [];
    const checkpoint = await one(
      `select position::text, updated_at from "${namespace}_aggregation".projection_checkpoints where name = 'aggregation_usage_rollup'`,
      [],
    );
    const head = await one(`select max(global_position)::text as head from "${namespace}_ledger".events`, []);
    lines.push(`rollup checkpoint: ${show(checkpoint)}; ledger ${show(head)}`);
    for (const id of eventIds.slice(0, 10)) {
      const status = await one(
        `select usage_id, accepted_at, recorded_at, attributed_at, parked_at, parked_reason, account_id
           from "${namespace}_ingestion".event_status where event_id = $1`,
        [id],
      );
      const message = await one(
        `select m.seq::text, m.stream, m.published_at,
                (select string_agg(d.durable || ':' || d.delivered || (case when d.acked then ' acked' else '' end), ', ')
                   from "${namespace}_bus".deliveries d where d.seq = m.seq) as deliveries
           from "${namespace}_bus".messages m where position(convert_to($1, 'UTF8') in m.data) > 0`,
        [`"${id}"`],
      );
      const recorded = await one(
        `select global_position::text, stream_name, data -> 'attribution' ->> 'status' as attribution
           from "${namespace}_ledger".events where event_type = 'UsageRecorded' and data ->> 'eventId' = $1`,
        [id],
      );
      const fact = status?.usage_id
        ? await one(
            `select account_id, time, last_position::text, voided from "${namespace}_aggregation".usage_facts where usage_id = $1`,
            [status.usage_id],
          )
        : undefined;
      lines.push(
        `${id}: status ${show(status)} | bus ${show(message)} | ledger ${show(recorded)} | fact ${show(fact)}`,
      );
    }
    return lines;
  } finally {
    await client.end();
  }
};
