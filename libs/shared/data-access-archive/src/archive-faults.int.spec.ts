import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConnectionError, openPool } from '@tally/shared/data-access-pg-client';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { dropSchemas, ScratchPostgres, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { ArchiveManifest } from './archive-manifest';
import { sealRange } from './archive-sealer';
import type { ObjectStore } from './object-store.port';
import { ArchiveTarget, filesystemTarget, s3Target } from './testing/archive-targets';

const namespace = uniqueName('archivefault');
afterAll(() => dropSchemas(namespace));

const usage = (tenant: string) => ({
  stream: `usage-${tenant}_a1.2026-11`,
  events: [{ id: randomUUID(), type: 'UsageRecorded', data: { quantity: '1.5' } }],
});

describe('sealing when Postgres goes away between the files and the manifest', () => {
  let postgres: ScratchPostgres;
  let target: ArchiveTarget;
  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    target = await filesystemTarget();
  });
  afterAll(async () => {
    await postgres.destroy();
    await target.dispose();
  });

  it('fails without crashing, records nothing, and the next seal records the files already written', async () => {
    const ledger = new PostgresEventStore({ connectionString: postgres.url(), schema: 'ledger' });
    await ledger.init();
    const pool = openPool({ connectionString: postgres.url(), max: 2 });
    const manifest = new ArchiveManifest(pool, 'archive');
    await manifest.init();
    await ledger.appendToStreams([usage('t1'), usage('t2')]);
    const cutoff = new Date(Date.now() + 60_000);
    const { store: real } = target.isolated();
    // The real store, with Postgres stopped right after its last file is written: the crash window.
    let puts = 0;
    const store: ObjectStore = {
      put: async (key, bytes) => {
        await real.put(key, bytes);
        if (++puts === 2) await postgres.stop();
      },
      get: (key) => real.get(key),
      close: () => real.close(),
    };

    const failed = await sealRange({ pool, ledgerSchema: 'ledger', manifest, store, cutoff }).catch((e: unknown) => e);
    expect(isConnectionError(failed)).toBe(true);

    await postgres.start();
    expect(await manifest.list()).toEqual([]);
    const report = await sealRange({ pool, ledgerSchema: 'ledger', manifest, store: real, cutoff });
    expect(report).toMatchObject({ rows: 2, reused: 2 });
    expect((await manifest.list()).map((e) => e.tenant)).toEqual(['t1', 't2']);
    await ledger.close();
    await pool.end();
  });
});

describe('sealing when the S3 server is gone', () => {
  it('fails with the store named, records nothing, and a later seal completes', async () => {
    const target = await s3Target();
    const { store } = target.isolated();
    const ledger = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await ledger.init();
    const pool = openPool({ connectionString: testDatabaseUrl(), max: 2 });
    const manifest = new ArchiveManifest(pool, `${namespace}_manifest`);
    await manifest.init();
    const seal = (cutoff: Date) => sealRange({ pool, ledgerSchema: `${namespace}_ledger`, manifest, store, cutoff });
    await ledger.appendToStreams([usage('t1'), usage('t2')]);
    const cutoff = new Date(Date.now() + 60_000);
    await target.s3?.stop();
    await expect(seal(cutoff)).rejects.toThrow(/archive store unavailable \(put archive\/t1\/usage\/.*\.parquet\)/);
    expect(await manifest.list()).toEqual([]);
    await target.s3?.resume();
    expect((await seal(cutoff)).rows).toBe(2);
    expect(await manifest.list()).toHaveLength(2);
    await ledger.close();
    await pool.end();
    await target.dispose();
  });
});
