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
      `update "${this.schema}".reconciliations set status = $3, completed_at = $4, report = $5 where tenant = $1 and reconciliation_id = $2`,
      [tenant, id, status, completedAt, JSON.stringify(report)],
    );
  }

  async get(tx: Queryable, tenant: string, id: string): Promise<ReconciliationRow | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".reconciliations where tenant = $1 and reconciliation_id = $2`,
      [tenant, id],
    );
    const r = rows[0];
    if (!r) return undefined;
    return {
      reconciliationId: String(r.reconciliation_id),
      period: String(r.period),
      status: r.status as ReconciliationRow['status'],
      requestedAt: (r.requested_at as Date).toISOString(),
      completedAt: r.completed_at ? (r.completed_at as Date).toISOString() : null,
      report: (r.report as Record<string, unknown>) ?? null,
    };
  }
}
