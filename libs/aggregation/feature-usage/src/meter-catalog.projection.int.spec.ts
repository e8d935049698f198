import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { MeterTables, rollupMigrations } from '@tally/aggregation/data-access-usage';
import { meterStream } from '@tally/contracts/meters';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { openAppDataSource, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { meterCatalogProjection } from './meter-catalog.projection';

const namespace = uniqueName('metercat');
const schema = `${namespace}_aggregation`;
const meter = (slug: string, name: string) => ({
  tenant: 't1',
  slug,
  name,
  description: null,
  eventType: 'fn.invocation',
  aggregation: 'SUM',
  valueProperty: '$.gbSeconds',
  groupBy: {},
  createdAt: '2026-11-01T00:00:00.000Z',
});

/** The mandatory cases for the meter catalogue (aggregation_meters): a batch applied twice changes nothing; a rebuild gives the same rows. */
describe('aggregation_meters projection', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  let runner: ProjectionRunner;
  const rows = () => db.query(`select * from "${schema}".meters order by tenant, slug`);

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: rollupMigrations });
    const append = (slug: string, type: string, data: object) =>
      store.appendToStream(meterStream('t1', slug), [{ id: randomUUID(), type, data: { ...data } }]);
    await append('gb', 'MeterCreated', meter('gb', 'GB-seconds'));
    await append('reads', 'MeterCreated', meter('reads', 'Reads'));
    await append('reads', 'MeterDeleted', { tenant: 't1', slug: 'reads', deletedAt: '2026-11-02T00:00:00.000Z' });
    await append('reads', 'MeterCreated', meter('reads', 'Reads again'));
    await append('old', 'MeterCreated', meter('old', 'Old'));
    await append('old', 'MeterDeleted', { tenant: 't1', slug: 'old', deletedAt: '2026-11-03T00:00:00.000Z' });
    runner = new ProjectionRunner((s) => meterCatalogProjection(new MeterTables(s)), db, store, {
      connectionString: testDatabaseUrl(),
      schema,
    });
    await runner.start();
    await runner.caughtUp();
  });
  afterAll(async () => {
    await runner?.stop();
    await db?.destroy();
    await store?.close();
    await dropSchemas(namespace);
  });

  it('folds the meter streams: created, deleted, created again', async () => {
    const live = (await rows()).filter((r: { deleted_at: unknown }) => r.deleted_at === null);
    expect(live.map((r: { slug: string }) => r.slug)).toEqual(['gb', 'reads']);
  });

  it('a batch applied twice changes nothing', async () => {
    const before = await rows();
    const batch = await store.readAll({ eventTypes: runner.projection.eventTypes, maxCount: 100 });
    await runner.applyBatch(batch);
    await runner.applyBatch(batch);
    expect(await rows()).toEqual(before);
  });

  it('rebuilt from zero gives the same rows', async () => {
    const before = await rows();
    await runner.rebuild();
    await runner.caughtUp();
    expect(await rows()).toEqual(before);
  });
});
