import { DataSource, EntityManager } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

/** What one billing run did for one tenant, as the run summed it (the counts by outcome). */
export interface BillingRunRecord {
  tenant: string;
  trigger: 'scheduled' | 'manual';
  startedAt: string;
  durationMs: number;
  /** drafted, redrafted, finalized, … subscriptions: every count but costAlerts. */
  outcome: Record<string, number>;
  costAlerts: number;
  /** Why the tenant's run failed as a whole; null when it ran (single subscriptions may still have failed). */
  error: string | null;
}

/** Runs kept per tenant: the newest this many (at one run a minute, the last ≈17 hours; at the default hourly, 6 weeks). */
export const billingRunsKept = 1_000;

/**
 * The billing runs' history, newest first. Bounded by count per tenant (`keep`, pruned with each insert), so
 * its size does not depend on the billing interval.
 */
export class BillingRunTables {
  constructor(
    private readonly schema: string,
    private readonly keep = billingRunsKept,
  ) {}

  /** Inserts the run and drops the tenant's runs beyond the newest `keep`, in one transaction. */
  async record(db: DataSource, run: BillingRunRecord, options: { timeoutMs: number }): Promise<void> {
    await db.transaction(async (tx) => {
      // A locked or slow table must not hold a connection (and the shutdown waiting on it) for long.
      await tx.query(`select set_config('lock_timeout', $1, true), set_config('statement_timeout', $1, true)`, [
        `${options.timeoutMs}ms`,
      ]);
      await tx.query(
        `insert into "${this.schema}".billing_runs (tenant, trigger, started_at, duration_ms, outcome, cost_alerts, error)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [
          run.tenant,
          run.trigger,
          run.startedAt,
          run.durationMs,
          JSON.stringify(run.outcome),
          run.costAlerts,
          run.error,
        ],
      );
      await tx.query(
        `delete from "${this.schema}".billing_runs where tenant = $1 and run_id < (
           select run_id from "${this.schema}".billing_runs where tenant = $1 order by run_id desc offset $2 limit 1)`,
        [run.tenant, this.keep - 1],
      );
    });
  }

  /** The tenant's newest runs first (by start, then by insertion for two that started in the same millisecond). */
  async newest(tx: Queryable, tenant: string, limit: number): Promise<BillingRunRecord[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".billing_runs where tenant = $1 order by started_at desc, run_id desc limit $2`,
      [tenant, limit],
    );
    return rows.map((r) => ({
      tenant: String(r.tenant),
      trigger: r.trigger as BillingRunRecord['trigger'],
      startedAt: (r.started_at as Date).toISOString(),
      durationMs: Number(r.duration_ms),
      outcome: r.outcome as Record<string, number>,
      costAlerts: Number(r.cost_alerts),
      error: (r.error as string | null) ?? null,
    }));
  }
}
