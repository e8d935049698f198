import { DataSource, EntityManager } from 'typeorm';
import type { UsageQuery } from '@tally/aggregation/domain';
import { returnedRows } from '@tally/shared/data-access-postgres';
import { decimalPattern } from './meter-hours.tables';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface UsageFact {
  usageId: string;
  tenant: string;
  /** null while parked. */
  accountId: string | null;
  subject: string;
  eventType: string;
  time: string;
  /** Ledger position of the event that recorded it. */
  position: string;
  data: Record<string, unknown>;
  /** The subject's attributes where the usage is attributed (app, environment, …). */
  attributes: Record<string, string>;
}

export interface UsageWindow {
  windowStart: string;
  windowEnd: string;
  eventType: string;
  events: string;
}

const truncUnit = { MINUTE: 'minute', HOUR: 'hour', DAY: 'day' } as const;

/**
 * SQL marking the hours of `source`'s rows (tenant, account_id, minute, position) as changed at their position: what
 * invoicing asks to know which finalized periods to re-rate (usage_changes). The greatest position stays, so
 * replaying a batch, or the whole ledger in another batch split, ends with the same marks.
 *
 * `priorOwners`: `source` also has event_type, subject, time and usage_id, and a change to a report of a
 * time-weighted meter also marks the account of the subject's report before it: that report's level holds until
 * this one, so recording, voiding or amending this one lengthens or shortens it (docs/aggregation.md, "Time-weighted
 * meters"). From that hour on, invoicing takes every later period as changed. The report before is read as the
 * statement's snapshot has the facts: new facts are marked this way by a statement of their own, after their batch's
 * insert, so that a report's predecessor in the same batch is seen.
 */
const markChangedSql = (schema: string, source: string, priorOwners: false | { functions: string } = false) => {
  const prior = priorOwners
    ? `union all
       select c.tenant, p.account_id, c.minute, c.position from ${source} c
         join ${gaugeMetersSql(schema)} g on g.tenant = c.tenant and g.event_type = c.event_type
         cross join lateral (
           select u.account_id from "${schema}".usage_facts u
            where u.tenant = c.tenant and u.event_type = c.event_type and u.subject = c.subject and not u.voided
              and (u.time < c.time or (u.time = c.time and u.usage_id < c.usage_id))
              and ${readingSql('u', 'g', priorOwners.functions)} is not null
            order by u.time desc, u.usage_id desc limit 1) p`
    : '';
  return `insert into "${schema}".usage_changes (tenant, account_id, hour, position)
   select tenant, account_id, date_trunc('hour', minute, 'UTC'), max(position)
     from (select tenant, account_id, minute, position from ${source} ${prior}) changed
    where account_id is not null group by 1, 2, 3
   on conflict (tenant, account_id, hour) do update set position = greatest(usage_changes.position, excluded.position)`;
};

/** The live time-weighted meters (or meters kept without their definition) with how each reads a report. */
const gaugeMetersSql = (schema: string) =>
  `(select tenant, event_type, value_path, value_expression from "${schema}".rollup_meters
     where live and (definition is null or definition ->> 'aggregation' = 'TIME_WEIGHTED_SUM'))`;

/**
 * Whether fact `f` has a reading for meter `m` (a rollup_meters row), by the rule the levels are read with: only a
 * report with a reading sets a level, and so only such a report ends the one before it.
 */
const readingSql = (f: string, m: string, functions: string) =>
  `case when ${m}.value_expression is not null then "${functions}".meter_value(${m}.value_expression, ${f}.data)
        when cardinality(${m}.value_path) > 0 and (${f}.data #>> ${m}.value_path) ~ ${decimalPattern} then 1 end`;

export class RollupTables {
  /** The tables this class writes for its projection (a rebuild builds copies of them and swaps them in). */
  static readonly tables = ['usage_facts', 'usage_minute', 'voided_usage', 'accounts', 'usage_changes'] as const;

  /**
   * `functions`: the schema holding the migrations' SQL functions (meter_value) — the live schema, also while a
   * rebuild writes copies of the tables into another one.
   */
  constructor(
    private readonly schema: string,
    private readonly functions: string = schema,
  ) {}

  /**
   * Counts each usage event once: facts are inserted ON CONFLICT DO NOTHING and only the facts that
   * were new feed the minute totals, so applying a batch twice changes nothing.
   */
  async add(tx: Queryable, facts: readonly UsageFact[]): Promise<string[]> {
    if (facts.length === 0) return [];
    const s = this.schema;
    // One JSON document per batch (jsonb_to_recordset), as the ledger append does. Answers the facts that were new.
    const fresh: { usage_id: string; gauge: boolean }[] = await tx.query(
      `with fresh as (
         insert into "${s}".usage_facts (usage_id, tenant, account_id, subject, event_type, time, last_position, data, attributes)
         select usage_id, tenant, account_id, subject, event_type, time, position, data, attributes
           from jsonb_to_recordset($1::jsonb) as f(usage_id uuid, tenant text, account_id text, subject text, event_type text, time timestamptz, position bigint, data jsonb, attributes jsonb)
          where not exists (select 1 from "${s}".voided_usage v where v.usage_id = f.usage_id)
         on conflict (usage_id) do nothing
         returning usage_id, tenant, account_id, event_type, date_trunc('minute', time, 'UTC') as minute, last_position as position),
       counted as (
         insert into "${s}".usage_minute (tenant, account_id, event_type, minute, events)
         select tenant, account_id, event_type, minute, count(*) from fresh where account_id is not null group by 1, 2, 3, 4
         on conflict (tenant, account_id, minute, event_type) do update set events = usage_minute.events + excluded.events),
       marked as (${markChangedSql(s, 'fresh')})
       select f.usage_id, exists (select 1 from ${gaugeMetersSql(s)} g where g.tenant = f.tenant and g.event_type = f.event_type) as gauge
         from fresh f`,
      [
        JSON.stringify(
          facts.map((f) => ({
            usage_id: f.usageId,
            tenant: f.tenant,
            account_id: f.accountId,
            subject: f.subject,
            event_type: f.eventType,
            time: f.time,
            position: f.position,
            data: f.data,
            attributes: f.attributes,
          })),
        ),
      ],
    );
    const reports = fresh.filter((r) => r.gauge).map((r) => r.usage_id);
    if (reports.length > 0)
      await tx.query(
        `with reports as (
           select usage_id, tenant, null::text as account_id, event_type, subject, time,
                  date_trunc('minute', time, 'UTC') as minute, last_position as position
             from "${s}".usage_facts where usage_id = any($1::uuid[]))
         ${markChangedSql(s, 'reports', { functions: this.functions })}`,
        [reports],
      );
    return fresh.map((r) => r.usage_id);
  }

  /**
   * Before the first batch the marking code ever applies (whatever process): marks are kept from just before it on.
   * Answers whether that was already done in an earlier transaction (then callers need not ask again; until then they
   * do, in case this transaction rolls back). Nothing to do in a rebuild's copies: usage_changes_kept is not among
   * them, the live row stands.
   */
  async startMarking(tx: Queryable, firstPosition: bigint): Promise<boolean> {
    const s = this.schema;
    const [{ kept }] = (await tx.query(
      `select to_regclass(format('%I.usage_changes_kept', $1::text)) is not null as kept`,
      [s],
    )) as { kept: boolean }[];
    if (!kept) return true;
    const started = returnedRows(
      await tx.query(
        `update "${s}".usage_changes_kept set from_position = greatest(from_position, $1), marking_started = true
          where not marking_started returning 1`,
        [(firstPosition - 1n).toString()],
      ),
    );
    return started.length === 0;
  }

  /** Whether a change at this ledger position will apply to the fact (it exists, is not voided, is older). */
  async changes(tx: Queryable, usageId: string, position: string): Promise<boolean> {
    const rows: unknown[] = await tx.query(
      `select 1 from "${this.schema}".usage_facts where usage_id = $1 and last_position < $2 and not voided`,
      [usageId, position],
    );
    return rows.length > 0;
  }

  /** Of these facts, the ones that exist and are not voided yet. */
  async live(tx: Queryable, usageIds: readonly string[]): Promise<string[]> {
    const rows: { usage_id: string }[] = await tx.query(
      `select usage_id from "${this.schema}".usage_facts where usage_id = any($1::uuid[]) and not voided`,
      [usageIds],
    );
    return rows.map((r) => r.usage_id);
  }

  /**
   * Moves one usage event to another account (or out, to parked: null). Guarded by the ledger position
   * of the change: a change older than the fact's last one — a replayed batch — does nothing.
   */
  async move(
    tx: Queryable,
    usageId: string,
    accountId: string | null,
    attributes: Record<string, string>,
    position: string,
  ): Promise<void> {
    const s = this.schema;
    const moved = returnedRows<{ tenant: string; old_account: string | null; event_type: string; minute: Date }>(
      await tx.query(
        `update "${s}".usage_facts f set account_id = $2, last_position = $3, attributes = $4
         from (select usage_id, account_id as old_account from "${s}".usage_facts where usage_id = $1 for update) old
        where f.usage_id = old.usage_id and f.last_position < $3 and not f.voided
        returning f.tenant, old.old_account, f.event_type, date_trunc('minute', f.time, 'UTC') as minute`,
        [usageId, accountId, position, JSON.stringify(attributes)],
      ),
    );
    // Both accounts' hours changed (the same account's too: its attributes, which `per` charges group by, did).
    for (const m of moved)
      await tx.query(
        `${markChangedSql(s, `(select $1::text as tenant, unnest(array[$2::text, $3::text]) as account_id, $4::timestamptz as minute, $5::bigint as position) changed`)}`,
        [m.tenant, m.old_account, m.old_account === accountId ? null : accountId, m.minute, position],
      );
    for (const m of moved) {
      if (m.old_account === accountId) continue;
      if (m.old_account !== null) {
        await tx.query(
          `update "${s}".usage_minute set events = events - 1 where tenant = $1 and account_id = $2 and event_type = $3 and minute = $4`,
          [m.tenant, m.old_account, m.event_type, m.minute],
        );
      }
      if (accountId !== null) {
        await tx.query(
          `insert into "${s}".usage_minute (tenant, account_id, event_type, minute, events) values ($1, $2, $3, $4, 1)
           on conflict (tenant, account_id, minute, event_type) do update set events = usage_minute.events + 1`,
          [m.tenant, accountId, m.event_type, m.minute],
        );
      }
    }
  }

  /** An amendment replaces the event's data (what meters read); position-guarded like a move. */
  async amend(tx: Queryable, usageId: string, data: Record<string, unknown>, position: string): Promise<void> {
    const s = this.schema;
    await tx.query(
      `with amended as (
         update "${s}".usage_facts set data = $2, last_position = $3 where usage_id = $1 and last_position < $3
         returning usage_id, tenant, account_id, event_type, subject, time, date_trunc('minute', time, 'UTC') as minute, last_position as position)
       ${markChangedSql(s, 'amended', { functions: this.functions })}`,
      [usageId, JSON.stringify(data), position],
    );
  }

  /**
   * Takes voided usage out: each fact is marked once (so a repeated void subtracts nothing more), and
   * the void is remembered so the event, should it arrive later, is never counted.
   */
  async void(tx: Queryable, usageIds: readonly string[], position: string): Promise<void> {
    if (usageIds.length === 0) return;
    const s = this.schema;
    await tx.query(`insert into "${s}".voided_usage (usage_id) select unnest($1::uuid[]) on conflict do nothing`, [
      usageIds,
    ]);
    await tx.query(
      `with gone as (
         update "${s}".usage_facts set voided = true where usage_id = any($1::uuid[]) and not voided
         returning usage_id, tenant, account_id, event_type, subject, time, date_trunc('minute', time, 'UTC') as minute, $2::bigint as position),
       marked as (${markChangedSql(s, 'gone', { functions: this.functions })})
       update "${s}".usage_minute m set events = m.events - g.n
         from (select tenant, account_id, event_type, minute, count(*) as n from gone where account_id is not null group by 1, 2, 3, 4) g
        where m.tenant = g.tenant and m.account_id = g.account_id and m.event_type = g.event_type and m.minute = g.minute`,
      [usageIds, position],
    );
  }

  /** Windows with usage in [from, to), per event type; empty windows are omitted. */
  async usage(tx: Queryable, tenant: string, q: UsageQuery): Promise<UsageWindow[]> {
    const rows: { window_start: Date; event_type: string; events: string }[] = await tx.query(
      `select date_trunc('${truncUnit[q.windowSize]}', minute, 'UTC') as window_start, event_type, sum(events)::text as events
         from "${this.schema}".usage_minute
        where tenant = $1 and account_id = $2 and minute >= $3 and minute < $4 and ($5::text is null or event_type = $5)
        group by 1, 2 having sum(events) > 0 order by 1, 2`,
      [tenant, q.accountId, q.from.toISOString(), q.to.toISOString(), q.eventType ?? null],
    );
    return rows.map((r) => ({
      windowStart: r.window_start.toISOString(),
      windowEnd: new Date(r.window_start.getTime() + stepMs[q.windowSize]).toISOString(),
      eventType: r.event_type,
      events: r.events,
    }));
  }

  async upsertAccount(
    tx: Queryable,
    account: { tenant: string; accountId: string; timezone: string; currency: string; anchorDay: number },
  ): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".accounts (tenant, account_id, timezone, currency, anchor_day) values ($1, $2, $3, $4, $5) on conflict do nothing`,
      [account.tenant, account.accountId, account.timezone, account.currency, account.anchorDay],
    );
  }

  async account(
    tx: Queryable,
    tenant: string,
    accountId: string,
  ): Promise<{ timezone: string; currency: string; anchorDay: number } | undefined> {
    const rows: { timezone: string; currency: string; anchor_day: number }[] = await tx.query(
      `select timezone, currency, anchor_day from "${this.schema}".accounts where tenant = $1 and account_id = $2`,
      [tenant, accountId],
    );
    return rows[0]
      ? { timezone: rows[0].timezone, currency: rows[0].currency, anchorDay: rows[0].anchor_day }
      : undefined;
  }
}

const stepMs = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;
