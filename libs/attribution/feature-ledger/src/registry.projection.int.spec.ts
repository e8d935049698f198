import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { accountStream, subjectStream } from '@tally/attribution/domain';
import { RegistryTables, registryMigrations } from '@tally/attribution/data-access-registry';
import { parkedUsageStream, usageAttributedType, usageLedgerId, UsageRecordedV1, usageRecordedType } from '@tally/contracts/usage';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { openAppDataSource, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { registryProjection } from './registry.projection';

const namespace = uniqueName('registry');
const schema = `${namespace}_attribution`;

const parked = (subject: string, id: string, time: string): UsageRecordedV1 => ({
  tenant: 't1',
  usageId: usageLedgerId('t1', '//fn', id),
  source: '//fn',
  eventId: id,
  eventType: 'fn.invocation',
  subject,
  time,
  receivedAt: time,
  data: {},
  attribution: { status: 'parked', reason: 'unknown_subject' },
});

describe('attribution_registry projection', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  let runner: ProjectionRunner;
  const attributed = async () => (await store.readAll({ eventTypes: [usageAttributedType], maxCount: 1_000 })).map((e) => [e.data.usageId, e.data.accountId]);
  const tables = () =>
    Promise.all([
      db.query(`select * from "${schema}".accounts order by account_id`),
      db.query(`select * from "${schema}".subject_assignments order by subject, effective_from`),
      db.query(`select * from "${schema}".parked_usage order by usage_id`),
    ]);

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: registryMigrations });
    runner = new ProjectionRunner(registryProjection(new RegistryTables(schema), store), db, store, { connectionString: testDatabaseUrl(), schema });
    const early = parked('inst-1', 'e-early', '2026-11-10T00:00:00.000Z');
    const beforeOwner = parked('inst-1', 'e-before-owner', '2026-10-31T23:59:59.999Z');
    await store.appendToStream(parkedUsageStream('t1', 'inst-1'), [early, beforeOwner].map((u) => ({ id: u.usageId, type: usageRecordedType, data: { ...u } })));
    await store.appendToStream(accountStream('t1', 'acme'), [
      { id: randomUUID(), type: 'AccountOpened', data: { tenant: 't1', accountId: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC', openedAt: '2026-11-01T00:00:00.000Z' } },
    ]);
    await store.appendToStream(subjectStream('t1', 'inst-1'), [
      { id: randomUUID(), type: 'SubjectAssigned', data: { tenant: 't1', subject: 'inst-1', accountId: 'acme', effectiveFrom: '2026-11-01T00:00:00.000Z', attributes: {}, assignedAt: '2026-11-20T00:00:00.000Z' } },
    ]);
    // Parked after the assignment was recorded (the ledger writer read a stale registry): still attributed.
    const late = parked('inst-1', 'e-late', '2026-11-21T00:00:00.000Z');
    await store.appendToStream(parkedUsageStream('t1', 'inst-1'), [{ id: late.usageId, type: usageRecordedType, data: { ...late } }]);
    await runner.start();
    await eventually(attributed, (list) => list.length === 2, 5_000);
    await runner.caughtUp();
  });
  afterAll(async () => {
    await runner?.stop();
    await db?.destroy();
    await store?.close();
    await dropSchemas(namespace);
  });

  it('attributes parked usage covered by an assignment — whichever was recorded first — and only that', async () => {
    expect((await attributed()).sort()).toEqual(
      [
        [usageLedgerId('t1', '//fn', 'e-early'), 'acme'],
        [usageLedgerId('t1', '//fn', 'e-late'), 'acme'],
      ].sort(),
    );
    const [, , parkedRows] = await tables();
    const open = parkedRows.filter((r: { attributed_at: Date | null }) => r.attributed_at === null).map((r: { event_id: string }) => r.event_id);
    expect(open).toEqual(['e-before-owner']);
  });

  it('a batch applied twice changes nothing, in its tables or in the ledger', async () => {
    const before = { rows: await tables(), ledger: await attributed() };
    const batch = await store.readAll({ maxCount: 1_000 });
    await runner.applyBatch(batch);
    await runner.applyBatch(batch);
    expect({ rows: await tables(), ledger: await attributed() }).toEqual(before);
  });

  it('rebuilt from zero gives the same rows and appends nothing new', async () => {
    const before = { rows: await tables(), ledger: await attributed() };
    await runner.rebuild();
    await runner.caughtUp();
    expect({ rows: await tables(), ledger: await attributed() }).toEqual(before);
  });
});
