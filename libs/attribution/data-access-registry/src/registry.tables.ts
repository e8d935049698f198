import { DataSource, EntityManager } from 'typeorm';
import { SubjectTimeline, Subscription } from '@tally/attribution/domain';
import { Attribution } from '@tally/contracts/usage';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface AccountRow {
  tenant: string;
  accountId: string;
  name: string;
  currency: string;
  timezone: string;
  /** Null in rows projected before the column existed, until the projection is rebuilt: read as 1 and en-US. */
  billingAnchorDay: number;
  locale: string;
  openedAt: string;
  subscriptions: Subscription[];
}

export type AccountSummaryRow = Omit<AccountRow, 'tenant' | 'subscriptions'>;

/** `%`, `_` and `\` match themselves in the LIKE pattern built from a search text. */
export const likeContaining = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const toSummary = (r: Record<string, unknown>): AccountSummaryRow => ({
  accountId: String(r.account_id),
  name: String(r.name),
  currency: String(r.currency),
  timezone: String(r.timezone),
  billingAnchorDay: r.billing_anchor_day === null ? 1 : Number(r.billing_anchor_day),
  locale: r.locale === null ? 'en-US' : String(r.locale),
  openedAt: iso(r.opened_at),
});

/** A recorded usage event as attribution indexes it. */
export interface UsageRow {
  usageId: string;
  tenant: string;
  subject: string;
  source: string;
  eventId: string;
  eventType: string;
  time: string;
  attribution: Attribution;
  recordedAt: string;
}

const iso = (value: unknown) => (value as Date).toISOString();
const toUsage = (r: Record<string, unknown>): UsageRow => ({
  usageId: String(r.usage_id),
  tenant: String(r.tenant),
  subject: String(r.subject),
  source: String(r.source),
  eventId: String(r.event_id),
  eventType: String(r.event_type),
  time: iso(r.time),
  attribution: r.attribution as Attribution,
  recordedAt: iso(r.recorded_at),
});

/** All SQL over attribution's tables. Writes are idempotent or overwrite with state folded from the ledger. */
export class RegistryTables {
  /** The tables this class writes for its projection (a rebuild builds copies of them and swaps them in). */
  static readonly tables = ['accounts', 'subject_timelines', 'account_subjects', 'subject_usage'] as const;

  constructor(private readonly schema: string) {}

  /** An account opens once: a replay writes the same values (the update only fills rows projected before the columns). */
  async upsertAccount(tx: Queryable, a: Omit<AccountRow, 'subscriptions'>): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".accounts (tenant, account_id, name, currency, timezone, opened_at, billing_anchor_day, locale)
       values ($1, $2, $3, $4, $5, $6, $7, $8)
       on conflict (tenant, account_id) do update set billing_anchor_day = excluded.billing_anchor_day, locale = excluded.locale
       where accounts.locale is null`,
      [a.tenant, a.accountId, a.name, a.currency, a.timezone, a.openedAt, a.billingAnchorDay, a.locale],
    );
  }

  /**
   * A page of the tenant's accounts by id, after `after`, whose id or name contains `search` (case-insensitive).
   * Walks the primary key (tenant, account_id) in order and stops at `limit` matches (docs/attribution.md: cost).
   */
  async searchAccounts(
    tx: Queryable,
    tenant: string,
    page: { search?: string; after?: string; limit: number },
  ): Promise<AccountSummaryRow[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select account_id, name, currency, timezone, billing_anchor_day, locale, opened_at from "${this.schema}".accounts
        where tenant = $1 and ($2::text is null or account_id > $2)
          and ($3::text is null or account_id ilike $3 or name ilike $3)
        order by account_id limit $4`,
      [tenant, page.after ?? null, page.search === undefined ? null : likeContaining(page.search), page.limit],
    );
    return rows.map(toSummary);
  }

  async account(tx: Queryable, tenant: string, accountId: string): Promise<AccountRow | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".accounts where tenant = $1 and account_id = $2`,
      [tenant, accountId],
    );
    const r = rows[0];
    return (
      r && {
        tenant,
        ...toSummary(r),
        subscriptions: r.subscriptions as Subscription[],
      }
    );
  }

  /** The account's subscriptions and the ledger position they were folded to. */
  async subscriptionsAt(
    tx: Queryable,
    tenant: string,
    accountId: string,
  ): Promise<{ subscriptions: Subscription[]; position: bigint }> {
    const rows: { subscriptions: Subscription[]; subscriptions_position: string }[] = await tx.query(
      `select subscriptions, subscriptions_position from "${this.schema}".accounts where tenant = $1 and account_id = $2`,
      [tenant, accountId],
    );
    return { subscriptions: rows[0]?.subscriptions ?? [], position: BigInt(rows[0]?.subscriptions_position ?? 0) };
  }

  async setSubscriptions(
    tx: Queryable,
    tenant: string,
    accountId: string,
    subscriptions: Subscription[],
    position: bigint,
  ): Promise<void> {
    await tx.query(
      `update "${this.schema}".accounts set subscriptions = $3, subscriptions_position = $4 where tenant = $1 and account_id = $2 and subscriptions_position < $4`,
      [tenant, accountId, JSON.stringify(subscriptions), position.toString()],
    );
  }

  async subscriptions(
    tx: Queryable,
    tenant: string,
    accountIds: readonly string[],
  ): Promise<Map<string, Subscription[]>> {
    const rows: { account_id: string; subscriptions: Subscription[] }[] = await tx.query(
      `select account_id, subscriptions from "${this.schema}".accounts where tenant = $1 and account_id = any($2::text[])`,
      [tenant, accountIds],
    );
    return new Map(rows.map((r) => [r.account_id, r.subscriptions]));
  }

  /** The subject's timeline and the ledger position it was folded to. */
  async timelineAt(
    tx: Queryable,
    tenant: string,
    subject: string,
  ): Promise<{ timeline: SubjectTimeline; position: bigint }> {
    const rows: { timeline: SubjectTimeline; last_position: string }[] = await tx.query(
      `select timeline, last_position from "${this.schema}".subject_timelines where tenant = $1 and subject = $2`,
      [tenant, subject],
    );
    return { timeline: rows[0]?.timeline ?? [], position: BigInt(rows[0]?.last_position ?? 0) };
  }

  async setTimeline(
    tx: Queryable,
    tenant: string,
    subject: string,
    timeline: SubjectTimeline,
    position: bigint,
  ): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".subject_timelines (tenant, subject, timeline, last_position) values ($1, $2, $3, $4)
       on conflict (tenant, subject) do update set timeline = excluded.timeline, last_position = excluded.last_position
       where subject_timelines.last_position < excluded.last_position`,
      [tenant, subject, JSON.stringify(timeline), position.toString()],
    );
    await tx.query(
      `insert into "${this.schema}".account_subjects (tenant, account_id, subject) select $1, unnest($2::text[]), $3 on conflict do nothing`,
      [tenant, [...new Set(timeline.map((s) => s.accountId))], subject],
    );
  }

  async timelines(tx: Queryable, tenant: string, subjects: readonly string[]): Promise<Map<string, SubjectTimeline>> {
    const rows: { subject: string; timeline: SubjectTimeline }[] = await tx.query(
      `select subject, timeline from "${this.schema}".subject_timelines where tenant = $1 and subject = any($2::text[])`,
      [tenant, subjects],
    );
    return new Map(rows.map((r) => [r.subject, r.timeline]));
  }

  /** Every subject the account ever owned (its usage is what a subscription change can move). */
  async subjectsOf(tx: Queryable, tenant: string, accountId: string): Promise<string[]> {
    const rows: { subject: string }[] = await tx.query(
      `select subject from "${this.schema}".account_subjects where tenant = $1 and account_id = $2`,
      [tenant, accountId],
    );
    return rows.map((r) => r.subject);
  }

  /** Indexes recorded usage in one statement; answers the ids that were new (the rest were already in). */
  async recordUsage(tx: Queryable, usage: readonly (UsageRow & { position: bigint })[]): Promise<Set<string>> {
    if (usage.length === 0) return new Set();
    // One JSON document per batch (jsonb_to_recordset): far cheaper than unnest over escaped text arrays.
    const rows: { usage_id: string }[] = await tx.query(
      `insert into "${this.schema}".subject_usage (usage_id, tenant, subject, source, event_id, event_type, time, attribution, recorded_at, last_position)
       select usage_id, tenant, subject, source, event_id, event_type, time, attribution, recorded_at, last_position
         from jsonb_to_recordset($1::jsonb) as x(usage_id uuid, tenant text, subject text, source text, event_id text, event_type text,
                                                time timestamptz, attribution jsonb, recorded_at timestamptz, last_position bigint)
       on conflict do nothing returning usage_id`,
      [
        JSON.stringify(
          usage.map((u) => ({
            usage_id: u.usageId,
            tenant: u.tenant,
            subject: u.subject,
            source: u.source,
            event_id: u.eventId,
            event_type: u.eventType,
            time: u.time,
            attribution: u.attribution,
            recorded_at: u.recordedAt,
            last_position: u.position.toString(),
          })),
        ),
      ],
    );
    return new Set(rows.map((r) => r.usage_id));
  }

  async usageById(tx: Queryable, usageId: string): Promise<UsageRow | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".subject_usage where usage_id = $1 and voided_at is null`,
      [usageId],
    );
    return rows[0] && toUsage(rows[0]);
  }

  /** Live (not voided) usage of these subjects at or after an instant. */
  async usageOf(tx: Queryable, tenant: string, subjects: readonly string[], from: string): Promise<UsageRow[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".subject_usage where tenant = $1 and subject = any($2::text[]) and time >= $3 and voided_at is null order by time, usage_id`,
      [tenant, subjects, from],
    );
    return rows.map(toUsage);
  }

  /** Moves the usage, unless a change at or after `position` is already in. */
  async setAttribution(tx: Queryable, usageId: string, attribution: Attribution, position: bigint): Promise<void> {
    await tx.query(
      `update "${this.schema}".subject_usage set attribution = $2, last_position = $3 where usage_id = $1 and last_position < $3`,
      [usageId, JSON.stringify(attribution), position.toString()],
    );
  }

  async voidUsage(tx: Queryable, usageId: string, at: string): Promise<void> {
    await tx.query(
      `update "${this.schema}".subject_usage set voided_at = coalesce(voided_at, $2) where usage_id = $1`,
      [usageId, at],
    );
  }

  async listParked(tx: Queryable, tenant: string, limit: number, after?: string): Promise<UsageRow[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".subject_usage
        where tenant = $1 and voided_at is null and attribution->>'status' = 'parked' and ($3::uuid is null or usage_id > $3)
        order by usage_id limit $2`,
      [tenant, limit, after ?? null],
    );
    return rows.map(toUsage);
  }
}
