import { DataSource, EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

/** One account's question: which of its hours before `before` changed after ledger position `since`? */
export interface ChangesAsk {
  key: number;
  accountId: string;
  since: bigint;
  before: Date;
}

/** Changed hours merged into ranges [from, to), oldest first; null: the rollups cannot say (treat everything as changed). */
export type ChangedRanges = { from: string; to: string }[] | null;

const hourMs = 3_600_000;

/** Consecutive hours as one range each: an answer stays small when a whole history moved (a subject re-attributed). */
export const mergeHours = (hours: readonly Date[]): { from: string; to: string }[] => {
  const ranges: { from: number; to: number }[] = [];
  for (const hour of hours) {
    const start = hour.getTime();
    const last = ranges.at(-1);
    if (last && last.to === start) last.to = start + hourMs;
    else ranges.push({ from: start, to: start + hourMs });
  }
  return ranges.map((r) => ({ from: new Date(r.from).toISOString(), to: new Date(r.to).toISOString() }));
};

/**
 * Reads usage_changes (kept by the rollups in the same transactions as the facts): what invoicing asks before it
 * re-rates a subscription's finalized periods, so that it re-rates only those whose usage changed since it last
 * settled them. The index on (tenant, account, position) makes a question cost the hours changed since, not the
 * account's whole history.
 */
export class UsageChangeTables {
  constructor(private readonly schema: string) {}

  /**
   * Whether the meter catalog (aggregation_meters, the definitions queries read) is behind a meter change the rollups
   * have applied (rollup_meters): the two are separate projections.
   */
  async meterCatalogBehind(tx: Queryable, tenant: string): Promise<boolean> {
    const s = this.schema;
    const [row] = (await tx.query(
      `select (select coalesce(max(last_position), 0) from "${s}".rollup_meters where tenant = $1)
            > (select coalesce(max(last_position), 0) from "${s}".meters where tenant = $1) as behind`,
      [tenant],
    )) as { behind: boolean }[];
    return row.behind;
  }

  /**
   * Each ask's changed ranges, from the snapshot `tx` whose rollup checkpoint is `checkpoint`. null where the marks
   * cannot answer: they were not kept at `since` (made after it), a meter was created, changed or deleted after it
   * (every fact's reading may differ), or the rollups have not applied the ledger up to it (a rebuild restarted).
   */
  async changedSince(
    tx: Queryable,
    tenant: string,
    asks: readonly ChangesAsk[],
    checkpoint: bigint,
  ): Promise<Map<number, ChangedRanges>> {
    const out = new Map<number, ChangedRanges>();
    if (asks.length === 0) return out;
    const s = this.schema;
    const [bounds] = (await tx.query(
      `select (select from_position from "${s}".usage_changes_kept)::text as kept_from,
              (select coalesce(max(last_position), 0) from "${s}".rollup_meters where tenant = $1)::text as catalog`,
      [tenant],
    )) as { kept_from: string | null; catalog: string }[];
    const knownFrom = [BigInt(bounds.catalog), BigInt(bounds.kept_from ?? checkpoint + 1n)].reduce((a, b) =>
      a > b ? a : b,
    );
    const answerable = asks.filter((a) => a.since >= knownFrom && a.since <= checkpoint);
    for (const ask of asks) out.set(ask.key, null);
    for (const ask of answerable) out.set(ask.key, []);
    if (answerable.length === 0) return out;
    const rows: { key: number; hour: Date }[] = await tx.query(
      `select a.key, c.hour
         from jsonb_to_recordset($2::jsonb) as a(key int, account_id text, since bigint, before timestamptz)
         join "${s}".usage_changes c on c.tenant = $1 and c.account_id = a.account_id and c.position > a.since and c.hour < a.before
        order by a.key, c.hour`,
      [
        tenant,
        JSON.stringify(
          answerable.map((a) => ({
            key: a.key,
            account_id: a.accountId,
            since: a.since.toString(),
            before: a.before.toISOString(),
          })),
        ),
      ],
    );
    const hoursOf = new Map<number, Date[]>();
    for (const row of rows) {
      const hours = hoursOf.get(row.key);
      if (hours) hours.push(row.hour);
      else hoursOf.set(row.key, [row.hour]);
    }
    for (const [key, hours] of hoursOf) out.set(key, mergeHours(hours));
    return out;
  }
}
