import { DataSource, EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface ReconciliationRow {
  reconciliationId: string;
  period: string;
  status: 'running' | 'completed' | 'failed';
  requestedAt: string;
  completedAt: string | null;
  report: Record<string, unknown> | null;
}

/** A reconciliation without its drifts (they may be many): their number instead, null until it has completed. */
export interface ReconciliationSummaryRow extends ReconciliationRow {
  driftCount: number | null;
}

const toRow = (r: Record<string, unknown>): ReconciliationRow => ({
  reconciliationId: String(r.reconciliation_id),
  period: String(r.period),
  status: r.status as ReconciliationRow['status'],
  requestedAt: (r.requested_at as Date).toISOString(),
  completedAt: r.completed_at ? (r.completed_at as Date).toISOString() : null,
  report: (r.report as Record<string, unknown>) ?? null,
});

export class ReconciliationTables {
  constructor(private readonly schema: string) {}

  async start(tx: Queryable, tenant: string, id: string, period: string, requestedAt: string): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".reconciliations (tenant, reconciliation_id, period, status, requested_at) values ($1, $2, $3, 'running', $4)`,
      [tenant, id, period, requestedAt],
    );
  }

  async finish(
    tx: Queryable,
    tenant: string,
    id: string,
    status: 'completed' | 'failed',
    completedAt: string,
    report: Record<string, unknown>,
  ): Promise<void> {
    await tx.query(
      // The summary and the drifts' number beside the report: the list reads those, never the drifts.
      `update "${this.schema}".reconciliations
          set status = $3, completed_at = $4, report = $5, summary = $5::jsonb - 'drifts',
              drift_count = jsonb_array_length($5::jsonb -> 'drifts')
        where tenant = $1 and reconciliation_id = $2`,
      [tenant, id, status, completedAt, JSON.stringify(report)],
    );
  }

  async get(tx: Queryable, tenant: string, id: string): Promise<ReconciliationRow | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".reconciliations where tenant = $1 and reconciliation_id = $2`,
      [tenant, id],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /**
   * The tenant's reconciliations, newest request first, `limit` of them after (older than) `before`; undefined
   * when `before` names none of the tenant's. Reads each one's summary and the drifts' number (written beside the
   * report when it finished), never the report itself.
   */
  async newest(
    tx: Queryable,
    tenant: string,
    limit: number,
    before?: string,
  ): Promise<ReconciliationSummaryRow[] | undefined> {
    if (before !== undefined) {
      const found: unknown[] = await tx.query(
        `select 1 from "${this.schema}".reconciliations where tenant = $1 and reconciliation_id = $2`,
        [tenant, before],
      );
      if (found.length === 0) return undefined;
    }
    const rows: Record<string, unknown>[] = await tx.query(
      `select tenant, reconciliation_id, period, status, requested_at, completed_at, summary as report, drift_count
         from "${this.schema}".reconciliations
        where tenant = $1 and ($3::uuid is null or (requested_at, reconciliation_id) <
              (select requested_at, reconciliation_id from "${this.schema}".reconciliations where tenant = $1 and reconciliation_id = $3))
        order by requested_at desc, reconciliation_id desc limit $2`,
      [tenant, limit, before ?? null],
    );
    return rows.map((r) => ({ ...toRow(r), driftCount: r.drift_count === null ? null : Number(r.drift_count) }));
  }
}
