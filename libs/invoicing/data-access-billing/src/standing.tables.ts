import { DataSource, EntityManager } from 'typeorm';
import type { InvoiceStatus, StandingSummary } from '@tally/invoicing/domain';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

/** An invoice as the standings projection keeps it: enough to fold its next event into its subscription's summary. */
export interface StandingInvoiceRow {
  tenant: string;
  invoiceId: string;
  subscriptionId: string;
  period: { start: string; end: string };
  status: Exclude<InvoiceStatus, 'none'>;
  /** The stream revision folded through: an event at or below it was applied already. */
  revision: bigint;
}

export interface TenantSubscription {
  tenant: string;
  subscriptionId: string;
}

/** The projection that keeps these tables (its checkpoint is read with the summaries). */
export const standingsProjectionName = 'invoicing_standings';

/** The invoicing_standings projection's tables: each invoice's standing, each subscription's summary of them. */
export class StandingTables {
  static readonly tables = ['standing_invoices', 'subscription_standings'] as const;

  private checkpointsExist = false;

  constructor(private readonly schema: string) {}

  /** These invoices' rows (several tenants' in one statement); an invoice without one is absent. */
  async invoices(tx: Queryable, keys: readonly { tenant: string; invoiceId: string }[]): Promise<StandingInvoiceRow[]> {
    if (keys.length === 0) return [];
    const rows: Record<string, string>[] = await tx.query(
      `select i.* from unnest($1::text[], $2::text[]) as k(tenant, invoice_id)
         join "${this.schema}".standing_invoices i on i.tenant = k.tenant and i.invoice_id = k.invoice_id`,
      [keys.map((k) => k.tenant), keys.map((k) => k.invoiceId)],
    );
    return rows.map((r) => ({
      tenant: r.tenant,
      invoiceId: r.invoice_id,
      subscriptionId: r.subscription_id,
      period: { start: r.period_start, end: r.period_end },
      status: r.status as StandingInvoiceRow['status'],
      revision: BigInt(r.revision),
    }));
  }

  async saveInvoices(tx: Queryable, rows: readonly StandingInvoiceRow[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `insert into "${this.schema}".standing_invoices (tenant, invoice_id, subscription_id, period_start, period_end, status, revision)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])
       on conflict (tenant, invoice_id) do update set status = excluded.status, revision = excluded.revision`,
      [
        rows.map((r) => r.tenant),
        rows.map((r) => r.invoiceId),
        rows.map((r) => r.subscriptionId),
        rows.map((r) => r.period.start),
        rows.map((r) => r.period.end),
        rows.map((r) => r.status),
        rows.map((r) => r.revision.toString()),
      ],
    );
  }

  /** These subscriptions' summaries (several tenants' in one statement); a subscription without one is absent. */
  async summaries(
    tx: Queryable,
    keys: readonly TenantSubscription[],
  ): Promise<(TenantSubscription & { summary: StandingSummary })[]> {
    if (keys.length === 0) return [];
    const rows: { tenant: string; subscription_id: string; summary: StandingSummary }[] = await tx.query(
      `select s.tenant, s.subscription_id, s.summary from unnest($1::text[], $2::text[]) as k(tenant, subscription_id)
         join "${this.schema}".subscription_standings s on s.tenant = k.tenant and s.subscription_id = k.subscription_id`,
      [keys.map((k) => k.tenant), keys.map((k) => k.subscriptionId)],
    );
    return rows.map((r) => ({ tenant: r.tenant, subscriptionId: r.subscription_id, summary: r.summary }));
  }

  /**
   * A tenant's subscriptions' summaries with the projection's checkpoint, from one statement (one snapshot: the
   * summaries hold exactly the changes up to it). No checkpoint yet (the projection has applied nothing, or its table
   * does not exist yet): undefined.
   */
  async summariesAt(
    tx: Queryable,
    tenant: string,
    subscriptionIds: readonly string[],
  ): Promise<{ checkpoint: bigint; summaries: Map<string, StandingSummary> } | undefined> {
    if (!this.checkpointsExist) {
      const [{ present }] = await tx.query(`select to_regclass($1) is not null as present`, [
        `"${this.schema}".projection_checkpoints`,
      ]);
      if (!present) return undefined;
      this.checkpointsExist = true;
    }
    const rows: { position: string | null; subscription_id: string | null; summary: StandingSummary | null }[] =
      await tx.query(
        `select c.position::text, s.subscription_id, s.summary
           from (select position from "${this.schema}".projection_checkpoints where name = '${standingsProjectionName}') c
           left join "${this.schema}".subscription_standings s on s.tenant = $1 and s.subscription_id = any($2::text[])`,
        [tenant, [...new Set(subscriptionIds)]],
      );
    const position = rows[0]?.position;
    if (position === undefined || position === null || BigInt(position) < 0n) return undefined;
    return {
      checkpoint: BigInt(position),
      summaries: new Map(
        rows
          .filter((r) => r.subscription_id !== null)
          .map((r) => [r.subscription_id as string, r.summary as StandingSummary]),
      ),
    };
  }

  async saveSummaries(
    tx: Queryable,
    rows: readonly (TenantSubscription & { summary: StandingSummary })[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `insert into "${this.schema}".subscription_standings (tenant, subscription_id, summary)
       select * from unnest($1::text[], $2::text[], $3::jsonb[])
       on conflict (tenant, subscription_id) do update set summary = excluded.summary`,
      [rows.map((r) => r.tenant), rows.map((r) => r.subscriptionId), rows.map((r) => JSON.stringify(r.summary))],
    );
  }

  /** A tenant's invoices' subscriptions, for the voids the ledger's tail reads (a void names no subscription). */
  async subscriptionsOf(tx: Queryable, tenant: string, invoiceIds: readonly string[]): Promise<Map<string, string>> {
    const rows: { invoice_id: string; subscription_id: string }[] = await tx.query(
      `select invoice_id, subscription_id from "${this.schema}".standing_invoices where tenant = $1 and invoice_id = any($2::text[])`,
      [tenant, [...new Set(invoiceIds)]],
    );
    return new Map(rows.map((r) => [r.invoice_id, r.subscription_id]));
  }
}
