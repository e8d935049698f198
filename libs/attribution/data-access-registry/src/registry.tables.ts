import { DataSource, EntityManager } from 'typeorm';
import { Assignment } from '@tally/attribution/domain';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface AccountRow {
  tenant: string;
  accountId: string;
  name: string;
  currency: string;
  timezone: string;
  openedAt: string;
}

export interface ParkedRow {
  usageId: string;
  subject: string;
  source: string;
  eventId: string;
  eventType: string;
  time: string;
  data: Record<string, unknown>;
  reason: string;
  parkedAt: string;
}

/** All SQL over attribution's registry tables. Every write is idempotent (keys from the ledger). */
export class RegistryTables {
  constructor(private readonly schema: string) {}

  async upsertAccount(tx: Queryable, a: AccountRow): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".accounts (tenant, account_id, name, currency, timezone, opened_at)
       values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
      [a.tenant, a.accountId, a.name, a.currency, a.timezone, a.openedAt],
    );
  }

  async insertAssignment(tx: Queryable, a: { tenant: string; subject: string; accountId: string; effectiveFrom: string; attributes: Record<string, string>; assignedAt: string }): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".subject_assignments (tenant, subject, effective_from, account_id, attributes, assigned_at)
       values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
      [a.tenant, a.subject, a.effectiveFrom, a.accountId, JSON.stringify(a.attributes), a.assignedAt],
    );
  }

  /** Assignment histories of several subjects at once (one query per consumer batch). */
  async assignments(tx: Queryable, tenant: string, subjects: readonly string[]): Promise<Map<string, Assignment[]>> {
    const rows: { subject: string; account_id: string; effective_from: Date }[] = await tx.query(
      `select subject, account_id, effective_from from "${this.schema}".subject_assignments
        where tenant = $1 and subject = any($2::text[]) order by effective_from`,
      [tenant, subjects],
    );
    const bySubject = new Map<string, Assignment[]>();
    for (const row of rows) bySubject.set(row.subject, [...(bySubject.get(row.subject) ?? []), { accountId: row.account_id, effectiveFrom: row.effective_from }]);
    return bySubject;
  }

  async park(tx: Queryable, tenant: string, p: ParkedRow): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".parked_usage (usage_id, tenant, subject, source, event_id, event_type, time, data, reason, parked_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing`,
      [p.usageId, tenant, p.subject, p.source, p.eventId, p.eventType, p.time, JSON.stringify(p.data), p.reason, p.parkedAt],
    );
  }

  async openParked(tx: Queryable, tenant: string, subject: string): Promise<ParkedRow[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select usage_id, subject, source, event_id, event_type, time, data, reason, parked_at from "${this.schema}".parked_usage
        where tenant = $1 and subject = $2 and attributed_at is null and voided_at is null order by time`,
      [tenant, subject],
    );
    return rows.map(toParked);
  }

  async markAttributed(tx: Queryable, usageId: string, accountId: string, at: string): Promise<void> {
    await tx.query(
      `update "${this.schema}".parked_usage set attributed_account_id = $2, attributed_at = $3 where usage_id = $1 and attributed_at is null`,
      [usageId, accountId, at],
    );
  }

  async markVoided(tx: Queryable, usageId: string, at: string): Promise<void> {
    await tx.query(`update "${this.schema}".parked_usage set voided_at = coalesce(voided_at, $2) where usage_id = $1`, [usageId, at]);
  }

  async listParked(tx: Queryable, tenant: string, limit: number, after?: string): Promise<ParkedRow[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select usage_id, subject, source, event_id, event_type, time, data, reason, parked_at from "${this.schema}".parked_usage
        where tenant = $1 and attributed_at is null and voided_at is null and ($3::uuid is null or usage_id > $3) order by usage_id limit $2`,
      [tenant, limit, after ?? null],
    );
    return rows.map(toParked);
  }

  async account(tx: Queryable, tenant: string, accountId: string): Promise<AccountRow | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(`select * from "${this.schema}".accounts where tenant = $1 and account_id = $2`, [tenant, accountId]);
    const row = rows[0];
    return row && { tenant, accountId, name: String(row.name), currency: String(row.currency), timezone: String(row.timezone), openedAt: (row.opened_at as Date).toISOString() };
  }

  async reset(tx: Queryable): Promise<void> {
    await tx.query(`truncate "${this.schema}".accounts, "${this.schema}".subject_assignments, "${this.schema}".parked_usage`);
  }
}

const toParked = (row: Record<string, unknown>): ParkedRow => ({
  usageId: String(row.usage_id),
  subject: String(row.subject),
  source: String(row.source),
  eventId: String(row.event_id),
  eventType: String(row.event_type),
  time: (row.time as Date).toISOString(),
  data: row.data as Record<string, unknown>,
  reason: String(row.reason),
  parkedAt: (row.parked_at as Date).toISOString(),
});
