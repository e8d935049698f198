import { DataSource, EntityManager } from 'typeorm';
import type { FieldError } from '@tally/shared/util-core';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;
/** What gives a statement's rows: a DataSource or EntityManager, or a plain pg client's `query` mapped to its rows. */
type RowsQueryable = { query(sql: string, params: unknown[]): Promise<Record<string, unknown>[]> };

export interface EventStatusRow {
  usageId: string;
  tenant: string;
  source: string;
  eventId: string;
  acceptedAt: string | null;
  rejectedAt: string | null;
  rejection: FieldError[] | null;
  recordedAt: string | null;
  parkedAt: string | null;
  parkedReason: string | null;
  attributedAt: string | null;
  accountId: string | null;
  voidedAt: string | null;
  voidReason: string | null;
  amendedAt: string | null;
  amendReason: string | null;
  /** Where the event is now. */
  current: 'attributed' | 'parked' | null;
}

const iso = (value: unknown) => (value ? (value as Date).toISOString() : null);

const toRow = (r: Record<string, unknown>): EventStatusRow => ({
  usageId: String(r.usage_id),
  tenant: String(r.tenant),
  source: String(r.source),
  eventId: String(r.event_id),
  acceptedAt: iso(r.accepted_at),
  rejectedAt: iso(r.rejected_at),
  rejection: (r.rejection as EventStatusRow['rejection']) ?? null,
  recordedAt: iso(r.recorded_at),
  parkedAt: iso(r.parked_at),
  parkedReason: (r.parked_reason as string | null) ?? null,
  attributedAt: iso(r.attributed_at),
  accountId: (r.account_id as string | null) ?? null,
  voidedAt: iso(r.voided_at),
  voidReason: (r.void_reason as string | null) ?? null,
  amendedAt: iso(r.amended_at),
  amendReason: (r.amend_reason as string | null) ?? null,
  current: (r.current as EventStatusRow['current']) ?? null,
});

/** What an accepted event was (kept for listing; numbers in data as the decimal text intake keeps). */
export interface EventContent {
  type: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

export interface EventListFilter {
  from: Date;
  to: Date;
  limit: number;
  id?: string;
  subject?: string;
  ingestedAtFrom?: Date;
  ingestedAtTo?: Date;
  /** Only events attributed to these accounts (OpenMeter's customers). */
  accountIds?: string[];
}

export interface ListedEvent extends EventContent {
  id: string;
  source: string;
  acceptedAt: string | null;
  recordedAt: string | null;
  rejectedAt: string | null;
  rejection: FieldError[] | null;
  /** Why the event does not count (yet): its subject has no account at its time. */
  parkedReason: string | null;
  voidedAt: string | null;
}

export interface StatusKey {
  usageId: string;
  tenant: string;
  source: string;
  eventId: string;
}

/**
 * Every write is idempotent: first-time facts keep their first timestamp (coalesce), latest-wins facts
 * (a rejection, an amendment) are replaced. The row is created by whichever fact arrives first.
 */
export class EventStatusTables {
  /** The table of the ingestion_event_status projection (shared with the status consumer: see carryOverIntake). */
  static readonly tables = ['event_status'] as const;

  constructor(private readonly schema: string) {}

  private async upsert(
    tx: Queryable,
    keys: readonly StatusKey[],
    columns: string[],
    values: unknown[][],
    onConflict: string,
  ): Promise<void> {
    if (keys.length === 0) return;
    const types = ['uuid', 'text', 'text', 'text', ...columns.map((c) => columnTypes[c])];
    const params = [
      keys.map((k) => k.usageId),
      keys.map((k) => k.tenant),
      keys.map((k) => k.source),
      keys.map((k) => k.eventId),
      ...values,
    ];
    await tx.query(
      // In key order: the status consumer and the projection (and two instances of each) then lock rows in one
      // order and deadlock far less often (a deadlock is retried all the same).
      `insert into "${this.schema}".event_status (usage_id, tenant, source, event_id, ${columns.join(', ')})
       select * from unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) order by 1
       on conflict (usage_id) do update set ${onConflict}`,
      params,
    );
  }

  accepted(tx: Queryable, keys: readonly (StatusKey & { content?: EventContent })[], at: string): Promise<void> {
    return this.upsert(
      tx,
      keys,
      ['accepted_at', 'event_type', 'subject', 'event_time', 'data'],
      [
        keys.map(() => at),
        keys.map((k) => k.content?.type ?? null),
        keys.map((k) => k.content?.subject ?? null),
        keys.map((k) => k.content?.time ?? null),
        keys.map((k) => (k.content ? JSON.stringify(k.content.data) : null)),
      ],
      `accepted_at = coalesce(event_status.accepted_at, excluded.accepted_at),
       event_type = coalesce(event_status.event_type, excluded.event_type), subject = coalesce(event_status.subject, excluded.subject),
       event_time = coalesce(event_status.event_time, excluded.event_time), data = coalesce(event_status.data, excluded.data)`,
    );
  }

  /**
   * Accepted events with their content (refused ones have none), newest first by event time: OpenMeter's listEvents.
   * Both ends of each range inclusive; `id` and `subject` match in part (case-insensitive).
   */
  async list(tx: Queryable, tenant: string, filter: EventListFilter): Promise<ListedEvent[]> {
    const params: unknown[] = [tenant, filter.from.toISOString(), filter.to.toISOString(), filter.limit];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    const conditions = [
      filter.id !== undefined ? `event_id ilike ${param(like(filter.id))}` : '',
      filter.subject !== undefined ? `subject ilike ${param(like(filter.subject))}` : '',
      filter.ingestedAtFrom ? `accepted_at >= ${param(filter.ingestedAtFrom.toISOString())}` : '',
      filter.ingestedAtTo ? `accepted_at <= ${param(filter.ingestedAtTo.toISOString())}` : '',
      filter.accountIds ? `account_id = any(${param(filter.accountIds)}::text[])` : '',
    ].filter(Boolean);
    const rows: Record<string, unknown>[] = await tx.query(
      `select event_id, source, event_type, subject, event_time, data, accepted_at, rejected_at, rejection, recorded_at,
              voided_at, case when current = 'parked' then parked_reason end as parked_reason
         from "${this.schema}".event_status
        where tenant = $1 and event_type is not null and event_time >= $2 and event_time <= $3
              ${conditions.map((c) => `and ${c}`).join(' ')}
        order by event_time desc, usage_id limit $4`,
      params,
    );
    return rows.map((r) => ({
      id: String(r.event_id),
      source: String(r.source),
      type: String(r.event_type),
      subject: String(r.subject),
      time: (r.event_time as Date).toISOString(),
      data: typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : {},
      acceptedAt: iso(r.accepted_at),
      recordedAt: iso(r.recorded_at),
      rejectedAt: iso(r.rejected_at),
      rejection: (r.rejection as FieldError[] | null) ?? null,
      parkedReason: (r.parked_reason as string | null) ?? null,
      voidedAt: iso(r.voided_at),
    }));
  }

  rejected(tx: Queryable, rejections: readonly (StatusKey & { errors: unknown[] })[], at: string): Promise<void> {
    return this.upsert(
      tx,
      rejections,
      ['rejected_at', 'rejection'],
      [rejections.map(() => at), rejections.map((r) => JSON.stringify(r.errors))],
      'rejected_at = excluded.rejected_at, rejection = excluded.rejection',
    );
  }

  recorded(
    tx: Queryable,
    records: readonly (StatusKey & { at: string; parkedReason: string | null; accountId: string | null })[],
  ): Promise<void> {
    return this.upsert(
      tx,
      records,
      ['recorded_at', 'parked_at', 'parked_reason', 'attributed_at', 'account_id', 'current'],
      [
        records.map((r) => r.at),
        records.map((r) => (r.parkedReason ? r.at : null)),
        records.map((r) => r.parkedReason),
        records.map((r) => (r.accountId ? r.at : null)),
        records.map((r) => r.accountId),
        records.map((r) => (r.accountId ? 'attributed' : 'parked')),
      ],
      `recorded_at = coalesce(event_status.recorded_at, excluded.recorded_at),
       parked_at = coalesce(event_status.parked_at, excluded.parked_at), parked_reason = coalesce(event_status.parked_reason, excluded.parked_reason),
       attributed_at = coalesce(event_status.attributed_at, excluded.attributed_at), account_id = coalesce(event_status.account_id, excluded.account_id),
       current = coalesce(event_status.current, excluded.current)`,
    );
  }

  /** The event moved (re-attribution): where it is now wins; first times are kept. */
  async moved(
    tx: Queryable,
    usageId: string,
    next: { accountId: string } | { parkedReason: string },
    at: string,
  ): Promise<void> {
    const attributed = 'accountId' in next;
    await tx.query(
      `update "${this.schema}".event_status set current = $2, account_id = $3, parked_reason = $4,
         attributed_at = case when $2 = 'attributed' then coalesce(attributed_at, $5) else attributed_at end,
         parked_at = case when $2 = 'parked' then coalesce(parked_at, $5) else parked_at end
       where usage_id = $1`,
      [
        usageId,
        attributed ? 'attributed' : 'parked',
        attributed ? next.accountId : null,
        attributed ? null : next.parkedReason,
        at,
      ],
    );
  }

  voided(tx: Queryable, key: StatusKey, reason: string, at: string): Promise<void> {
    return this.upsert(
      tx,
      [key],
      ['voided_at', 'void_reason'],
      [[at], [reason]],
      'voided_at = coalesce(event_status.voided_at, excluded.voided_at), void_reason = coalesce(event_status.void_reason, excluded.void_reason)',
    );
  }

  amended(tx: Queryable, key: StatusKey, reason: string, at: string): Promise<void> {
    return this.upsert(
      tx,
      [key],
      ['amended_at', 'amend_reason'],
      [[at], [reason]],
      'amended_at = excluded.amended_at, amend_reason = excluded.amend_reason',
    );
  }

  /**
   * Which of these events (by ledger id) Tally had before `before`: accepted into the stream (the status consumer
   * saw it) or recorded in the ledger. One statement, one probe of the primary key per id. Strictly before: the
   * copy stamped `before` itself — the asking request's own, which the status consumer may have recorded by the
   * time this runs — is never taken for an earlier one.
   */
  async knownBefore(tx: RowsQueryable, usageIds: readonly string[], before: string): Promise<string[]> {
    if (usageIds.length === 0) return [];
    const rows = await tx.query(
      `select usage_id from "${this.schema}".event_status
        where usage_id = any($1::uuid[]) and (accepted_at < $2 or recorded_at < $2)`,
      [usageIds, before],
    );
    return rows.map((r) => String(r.usage_id));
  }

  /**
   * The tenant's events first accepted in (at − 1 min, at], (at − 15 min, at] and (at − 1 h, at], and its newest
   * acceptance ever: two walks of (tenant, accepted_at). Shared state, so every ingestion process counts for it.
   */
  async acceptedSince(
    tx: Queryable,
    tenant: string,
    at: Date,
  ): Promise<{ lastMinute: bigint; last15Minutes: bigint; lastHour: bigint; newest: string | null }> {
    const rows: { last_minute: string; last_15_minutes: string; last_hour: string; newest: Date | null }[] =
      await tx.query(
        `select count(*) filter (where accepted_at > $2::timestamptz - interval '1 minute') as last_minute,
                count(*) filter (where accepted_at > $2::timestamptz - interval '15 minutes') as last_15_minutes,
                count(*) as last_hour,
                (select max(accepted_at) from "${this.schema}".event_status where tenant = $1 and accepted_at is not null) as newest
           from "${this.schema}".event_status
          where tenant = $1 and accepted_at > $2::timestamptz - interval '1 hour' and accepted_at <= $2`,
        [tenant, at.toISOString()],
      );
    const r = rows[0];
    return {
      lastMinute: BigInt(r.last_minute),
      last15Minutes: BigInt(r.last_15_minutes),
      lastHour: BigInt(r.last_hour),
      newest: iso(r.newest),
    };
  }

  async byUsageId(tx: Queryable, usageId: string): Promise<EventStatusRow | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".event_status where usage_id = $1`,
      [usageId],
    );
    return rows[0] && toRow(rows[0]);
  }

  /** The ledger-fed columns (rebuild resets these and keeps what intake recorded). */
  /**
   * The intake columns (accepted, rejected) come from the bus, not the ledger: a rebuild copies them from the
   * live table into the rebuilt one — when it starts, and again inside the swap, under the table lock, so
   * nothing the status consumer wrote meanwhile is lost. Idempotent.
   */
  static async carryOverIntake(tx: Queryable, from: string, to: string): Promise<void> {
    await tx.query(
      `insert into "${to}".event_status (usage_id, tenant, source, event_id, accepted_at, rejected_at, rejection, event_type, subject, event_time, data)
       select usage_id, tenant, source, event_id, accepted_at, rejected_at, rejection, event_type, subject, event_time, data from "${from}".event_status
       on conflict (usage_id) do update set accepted_at = excluded.accepted_at, rejected_at = excluded.rejected_at, rejection = excluded.rejection,
         event_type = excluded.event_type, subject = excluded.subject, event_time = excluded.event_time, data = excluded.data`,
    );
  }
}

const columnTypes: Record<string, string> = {
  accepted_at: 'timestamptz',
  rejected_at: 'timestamptz',
  rejection: 'jsonb',
  recorded_at: 'timestamptz',
  parked_at: 'timestamptz',
  parked_reason: 'text',
  attributed_at: 'timestamptz',
  account_id: 'text',
  voided_at: 'timestamptz',
  void_reason: 'text',
  amended_at: 'timestamptz',
  amend_reason: 'text',
  current: 'text',
  event_type: 'text',
  subject: 'text',
  event_time: 'timestamptz',
  data: 'text',
};
