import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { BillingRunRecord, BillingRunTables } from './billing-run.tables';
import { billingMigrations } from './migrations';
import { ReconciliationTables } from './reconciliation.tables';

const namespace = uniqueName('invhist');
const schema = `${namespace}_invoicing`;

const run = (tenant: string, startedAt: string): BillingRunRecord => ({
  tenant,
  trigger: 'scheduled',
  startedAt,
  durationMs: 12,
  outcome: { drafted: 1, subscriptions: 1 },
  costAlerts: 0,
  error: null,
});
const minute = (n: number) => new Date(Date.UTC(2026, 10, 1, 0, n)).toISOString();

/** Invoicing's operational records: the billing runs' history (bounded per tenant) and reconciliations listed newest first. */
describe('billing run and reconciliation history (Postgres)', () => {
  let db: DataSource;

  beforeAll(async () => {
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: billingMigrations });
  });

  afterAll(async () => {
    await db?.destroy();
    await dropSchemas(namespace);
  });

  describe('billing runs', () => {
    it('keeps the newest `keep` runs of each tenant, and answers them newest first', async () => {
      const tables = new BillingRunTables(schema, 3);
      for (let n = 1; n <= 5; n++) await tables.record(db, run('t1', minute(n)), { timeoutMs: 5_000 });
      await tables.record(db, run('t2', minute(0)), { timeoutMs: 5_000 });
      // 5 recorded for t1, 3 kept: minutes 5, 4, 3; t2's one run is not pruned by t1's.
      expect((await tables.newest(db, 't1', 10)).map((r) => r.startedAt)).toEqual([minute(5), minute(4), minute(3)]);
      expect(await db.query(`select count(*)::int as n from "${schema}".billing_runs where tenant = 't1'`)).toEqual([
        { n: 3 },
      ]);
      expect(await tables.newest(db, 't2', 10)).toEqual([run('t2', minute(0))]);
      expect((await tables.newest(db, 't1', 2)).length).toBe(2);
    });

    it('gives up on a locked table after its timeout instead of waiting for the lock', async () => {
      const tables = new BillingRunTables(schema);
      const holder = db.createQueryRunner();
      await holder.startTransaction();
      await holder.query(`lock table "${schema}".billing_runs in access exclusive mode`);
      try {
        await expect(tables.record(db, run('t3', minute(1)), { timeoutMs: 100 })).rejects.toThrow(
          /(lock|statement) timeout/,
        );
      } finally {
        await holder.rollbackTransaction();
        await holder.release();
      }
      expect(await tables.newest(db, 't3', 10)).toEqual([]);
    });
  });

  describe('reconciliations', () => {
    const tables = new ReconciliationTables(schema);
    const ids = [randomUUID(), randomUUID(), randomUUID()];

    beforeAll(async () => {
      for (const [i, id] of ids.entries()) await tables.start(db, 't1', id, `2026-0${i + 1}`, minute(i));
      await tables.finish(db, 't1', ids[0], 'completed', minute(10), {
        accounts: 1,
        drifts: [{ cause: 'rollups_behind' }, { cause: 'invoice_differs' }],
      });
      await tables.finish(db, 't1', ids[1], 'failed', minute(10), { error: 'usage unavailable' });
      await tables.start(db, 't2', randomUUID(), '2026-01', minute(5));
    });

    it('lists the newest request first, without the drifts, with their number (null unless completed)', async () => {
      const rows = await tables.newest(db, 't1', 10);
      expect(rows?.map((r) => [r.period, r.status, r.driftCount, r.report])).toEqual([
        ['2026-03', 'running', null, null],
        ['2026-02', 'failed', null, { error: 'usage unavailable' }],
        ['2026-01', 'completed', 2, { accounts: 1 }],
      ]);
    });

    it('pages with `before`, and answers undefined for a `before` that is not the tenant’s', async () => {
      expect((await tables.newest(db, 't1', 1, ids[2]))?.map((r) => r.reconciliationId)).toEqual([ids[1]]);
      expect((await tables.newest(db, 't1', 10, ids[0]))?.map((r) => r.reconciliationId)).toEqual([]);
      expect(await tables.newest(db, 't2', 10, ids[0])).toBeUndefined();
      expect(await tables.newest(db, 't1', 10, randomUUID())).toBeUndefined();
    });
  });
});
