import { DataSource, EntityManager } from 'typeorm';
import type { MeterCreatedV1 } from '@tally/contracts/meters';
import type { Attribution } from '@tally/contracts/usage';
import { emptyLedgerState, LedgerFoldChanges, LedgerState, LedgerUsage } from '@tally/invoicing/domain';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

/** The fold's tables: what a rebuild empties. */
export const reconciliationLedgerTables = [
  'reconciliation_usage',
  'reconciliation_pending',
  'reconciliation_meters',
] as const;

const usageColumns = `usage_id, event_type, subject, time, data, attribution, voided, accounts, last_position::text`;

const toUsage = (r: Record<string, unknown>): LedgerUsage => ({
  usageId: String(r.usage_id),
  eventType: String(r.event_type),
  subject: String(r.subject),
  time: String(r.time),
  data: r.data as Record<string, unknown>,
  attribution: (r.attribution as Attribution | null) ?? null,
  voided: r.voided === true,
  accounts: new Set(r.accounts as string[]),
  lastPosition: BigInt(r.last_position as string),
});

/** Pairs (tenant, id) as two parallel arrays: one parameter each, however many. */
const pairs = (touched: Map<string, Set<string>>) => {
  const tenants: string[] = [];
  const ids: string[] = [];
  for (const [tenant, set] of touched)
    for (const id of set) {
      tenants.push(tenant);
      ids.push(id);
    }
  return [tenants, ids];
};

/**
 * Reconciliation's fold of the ledger (foldLedger), kept in Postgres so that a run reads only the ledger's tail
 * since the previous run (see ReconciliationLedger in feature-billing). Every tenant's usage, one row per usage
 * event with its corrections applied; corrections whose usage has not arrived; meters. Times are kept as the
 * ledger's text (collation "C": compared as the fold compares them, code unit by code unit).
 */
export class ReconciliationLedgerTables {
  constructor(private readonly schema: string) {}

  private get checkpoint() {
    return `"${this.schema}".reconciliation_ledger_checkpoint`;
  }

  /**
   * Locks the checkpoint for this transaction (concurrent catch-ups take turns, batch by batch) and returns it:
   * the last ledger position folded, null for none. A missing row (never folded, or deleted to ask for a
   * rebuild) empties the fold first, in the same transaction.
   */
  async lockCheckpoint(tx: Queryable): Promise<bigint | null> {
    const created: unknown[] = await tx.query(
      `insert into ${this.checkpoint} (name, position) values ('ledger', -1) on conflict (name) do nothing returning 1`,
    );
    // DELETE, not TRUNCATE: a run reading the fold in its snapshot meanwhile must go on seeing the rows it started
    // with (TRUNCATE is not MVCC-safe: a snapshot taken before it sees the tables empty once it commits).
    if (created.length > 0)
      for (const table of reconciliationLedgerTables) await tx.query(`delete from "${this.schema}".${table}`);
    const [row]: { position: string }[] = await tx.query(
      `select position::text from ${this.checkpoint} where name = 'ledger' for update`,
    );
    return row.position === '-1' ? null : BigInt(row.position);
  }

  /** The checkpoint without a lock (inside a snapshot: the position the rows reflect). */
  async position(tx: Queryable): Promise<bigint | null> {
    const [row]: { position: string }[] = await tx.query(
      `select position::text from ${this.checkpoint} where name = 'ledger'`,
    );
    return !row || row.position === '-1' ? null : BigInt(row.position);
  }

  async moveCheckpoint(tx: Queryable, position: bigint): Promise<void> {
    await tx.query(
      `update ${this.checkpoint} set position = greatest(position, $1), updated_at = now() where name = 'ledger'`,
      [position.toString()],
    );
  }

  /** The touched usage and corrections as they are before a batch: its fold's starting state, per tenant. */
  async load(tx: Queryable, touched: Map<string, Set<string>>): Promise<Map<string, LedgerState>> {
    const states = new Map<string, LedgerState>();
    const stateOf = (tenant: string) => {
      let state = states.get(tenant);
      if (!state) states.set(tenant, (state = emptyLedgerState()));
      return state;
    };
    if (touched.size === 0) return states;
    const keys = `(select * from unnest($1::text[], $2::text[]) as k(tenant, usage_id))`;
    const [usage, pending]: Record<string, unknown>[][] = await Promise.all([
      tx.query(
        `select u.tenant, ${usageColumns} from "${this.schema}".reconciliation_usage u
          where (u.tenant, u.usage_id) in ${keys}`,
        pairs(touched),
      ),
      tx.query(
        `select p.tenant, p.usage_id, p.voided, p.data, p.position::text from "${this.schema}".reconciliation_pending p
          where (p.tenant, p.usage_id) in ${keys}`,
        pairs(touched),
      ),
    ]);
    for (const r of usage) stateOf(String(r.tenant)).usage.set(String(r.usage_id), toUsage(r));
    for (const r of pending)
      stateOf(String(r.tenant)).pending.set(String(r.usage_id), {
        voided: r.voided === true,
        ...(r.data === null ? {} : { data: r.data as Record<string, unknown> }),
        position: BigInt(r.position as string),
      });
    return states;
  }

  /**
   * Writes a folded batch. Each write is guarded by the position it carries, so a batch written twice (or an
   * older one after a newer) changes nothing.
   */
  async write(tx: Queryable, changes: LedgerFoldChanges): Promise<void> {
    const s = this.schema;
    if (changes.usage.length > 0)
      await tx.query(
        `insert into "${s}".reconciliation_usage as u
           (tenant, usage_id, event_type, subject, time, data, attribution, voided, accounts, last_position)
         select * from jsonb_to_recordset($1::jsonb) as r(tenant text, usage_id text, event_type text, subject text,
           time text, data jsonb, attribution jsonb, voided boolean, accounts text[], last_position bigint)
         on conflict (tenant, usage_id) do update
           set data = excluded.data, attribution = excluded.attribution, voided = excluded.voided,
               accounts = excluded.accounts, last_position = excluded.last_position
         where u.last_position < excluded.last_position`,
        [
          JSON.stringify(
            changes.usage.map(({ tenant, usage: u }) => ({
              tenant,
              usage_id: u.usageId,
              event_type: u.eventType,
              subject: u.subject,
              time: u.time,
              data: u.data,
              attribution: u.attribution,
              voided: u.voided,
              accounts: [...u.accounts],
              last_position: u.lastPosition.toString(),
            })),
          ),
        ],
      );
    if (changes.pending.length > 0)
      await tx.query(
        `insert into "${s}".reconciliation_pending as p (tenant, usage_id, voided, data, position)
         select * from jsonb_to_recordset($1::jsonb) as r(tenant text, usage_id text, voided boolean, data jsonb, position bigint)
         on conflict (tenant, usage_id) do update set voided = excluded.voided, data = excluded.data, position = excluded.position
         where p.position < excluded.position`,
        [
          JSON.stringify(
            changes.pending.map(({ tenant, usageId, correction: c }) => ({
              tenant,
              usage_id: usageId,
              voided: c.voided,
              data: c.data ?? null,
              position: c.position.toString(),
            })),
          ),
        ],
      );
    if (changes.pendingCleared.length > 0) {
      const cleared = new Map<string, Set<string>>();
      for (const { tenant, usageId } of changes.pendingCleared)
        cleared.set(tenant, (cleared.get(tenant) ?? new Set()).add(usageId));
      // Only corrections older than the usage that consumed them (a replayed batch never deletes a newer one).
      await tx.query(
        `delete from "${s}".reconciliation_pending p using unnest($1::text[], $2::text[]) as k(tenant, usage_id),
           "${s}".reconciliation_usage u
          where p.tenant = k.tenant and p.usage_id = k.usage_id and u.tenant = k.tenant and u.usage_id = k.usage_id
            and p.position < u.last_position`,
        pairs(cleared),
      );
    }
    // A deleted meter stays as a tombstone (meter null) with its position: an older batch cannot bring it back.
    const meters = [
      ...changes.meters.map(({ tenant, meter, position }) => ({ tenant, slug: meter.slug, meter, position })),
      ...changes.metersDeleted.map(({ tenant, slug, position }) => ({ tenant, slug, meter: null, position })),
    ].map((m) => ({ ...m, position: m.position.toString() }));
    if (meters.length > 0)
      await tx.query(
        `insert into "${s}".reconciliation_meters as m (tenant, slug, meter, position)
         select * from jsonb_to_recordset($1::jsonb) as r(tenant text, slug text, meter jsonb, position bigint)
         on conflict (tenant, slug) do update set meter = excluded.meter, position = excluded.position
         where m.position < excluded.position`,
        [JSON.stringify(meters)],
      );
  }

  /** The tenant's meters as the ledger has them (deleted ones left out). */
  async meters(tx: Queryable, tenant: string): Promise<Map<string, MeterCreatedV1>> {
    const rows: { slug: string; meter: MeterCreatedV1 }[] = await tx.query(
      `select slug, meter from "${this.schema}".reconciliation_meters where tenant = $1 and meter is not null`,
      [tenant],
    );
    return new Map(rows.map((r) => [r.slug, r.meter]));
  }

  /** The tenant's usage ever attributed to an account, with from <= time < to (the fold's text comparison). */
  async attributedBetween(tx: Queryable, tenant: string, from: string, to: string): Promise<LedgerUsage[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select ${usageColumns} from "${this.schema}".reconciliation_usage
        where tenant = $1 and time >= $2 and time < $3 and cardinality(accounts) > 0`,
      [tenant, from, to],
    );
    return rows.map(toUsage);
  }

  /** Whether usage ever attributed to the account, with from <= time < to, changed after a ledger position. */
  async changedAfter(tx: Queryable, tenant: string, accountId: string, from: string, to: string, after: bigint) {
    const [row]: { changed: boolean }[] = await tx.query(
      `select exists (select 1 from "${this.schema}".reconciliation_usage
        where tenant = $1 and time >= $3 and time < $4 and $2 = any(accounts) and last_position > $5) as changed`,
      [tenant, accountId, from, to, after.toString()],
    );
    return row.changed;
  }

  /** Reports of an event type (not voided), whoever they are attributed to, with from <= time < to. */
  async reportsBetween(tx: Queryable, tenant: string, eventType: string, from: string, to: string) {
    const rows: Record<string, unknown>[] = await tx.query(
      `select ${usageColumns} from "${this.schema}".reconciliation_usage
        where tenant = $1 and time >= $3 and time < $4 and event_type = $2 and not voided`,
      [tenant, eventType, from, to],
    );
    return rows.map(toUsage);
  }

  /**
   * Per subject of the event type, its last report (not voided) before a point: `before` for every subject, or
   * per subject (the report before one whose level was not a value). Ties in time are ordered by usage id, as
   * levelSpans orders them. One index probe per subject (a loose index scan over the subjects), not a scan of
   * the history.
   */
  async lastReportsBefore(
    tx: Queryable,
    tenant: string,
    eventType: string,
    before: string | readonly { subject: string; time: string; usageId: string }[],
  ): Promise<LedgerUsage[]> {
    const t = `"${this.schema}".reconciliation_usage`;
    const last = (subject: string, bound: string) => `
      select ${usageColumns} from ${t} x
       where x.tenant = $1 and x.event_type = $2 and x.subject = ${subject} and not x.voided and ${bound}
       order by x.time desc, x.usage_id desc limit 1`;
    const rows: Record<string, unknown>[] =
      typeof before === 'string'
        ? await tx.query(
            `with recursive subjects(subject) as (
               (select subject from ${t} where tenant = $1 and event_type = $2 order by subject limit 1)
               union all
               select (select y.subject from ${t} y where y.tenant = $1 and y.event_type = $2 and y.subject > s.subject
                        order by y.subject limit 1)
                 from subjects s where s.subject is not null)
             select r.* from subjects s cross join lateral (${last('s.subject', 'x.time < $3')}) r
              where s.subject is not null`,
            [tenant, eventType, before],
          )
        : before.length === 0
          ? []
          : await tx.query(
              `select r.* from unnest($3::text[], $4::text[], $5::text[]) as b(subject, time, usage_id)
                 cross join lateral (${last('b.subject', '(x.time, x.usage_id) < (b.time, b.usage_id)')}) r`,
              [
                tenant,
                eventType,
                before.map((b) => b.subject),
                before.map((b) => b.time),
                before.map((b) => b.usageId),
              ],
            );
    return rows.map(toUsage);
  }
}
