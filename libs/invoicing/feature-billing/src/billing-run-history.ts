import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BillingRunRecord, BillingRunTables } from '@tally/invoicing/data-access-billing';
import { Log, LOG } from '@tally/shared/feature-runtime';
import { messageOf } from '@tally/shared/util-core';
import { BILLING_RUN_TABLES, INVOICING_DB } from './tokens';

/** How long one record may wait on a locked or slow table before it is given up (and logged). */
const recordTimeoutMs = 5_000;

/**
 * Keeps each billing run's per-tenant summary (GET /v1/admin/billing-runs). Recording is on the side of the
 * run: never awaited by it, and a record that cannot be written (Postgres gone, the table locked or missing)
 * is logged and dropped — a run's outcome never depends on its record.
 */
@Injectable()
export class BillingRunHistory {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(BILLING_RUN_TABLES) private readonly tables: BillingRunTables,
    @Inject(LOG) private readonly log: Log,
  ) {}

  record(run: BillingRunRecord): void {
    const write = this.tables
      .record(this.db, run, { timeoutMs: recordTimeoutMs })
      .catch((error: unknown) =>
        this.log.warn(
          { tenant: run.tenant, startedAt: run.startedAt, reason: messageOf(error) },
          'billing run not recorded (the run itself is unaffected)',
        ),
      )
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** Waits for the records under way (at most recordTimeoutMs each): before the connections close. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  newest(tenant: string, limit: number): Promise<BillingRunRecord[]> {
    return this.tables.newest(this.db, tenant, limit);
  }
}
