import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { accountStream, subjectStream } from '@tally/attribution/domain';
import { RegistryTables, registryMigrations } from '@tally/attribution/data-access-registry';
import {
  parkedUsageStream,
  UsageReattributedV1,
  usageLedgerId,
  usageReattributedType,
  UsageRecordedV1,
  usageRecordedType,
} from '@tally/contracts/usage';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { openAppDataSource, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { registryProjection } from './registry.projection';

const namespace = uniqueName('registry');
const schema = `${namespace}_attribution`;
const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}T00:00:00.000Z`;

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

/**
 * The registry projection is also the re-attribution engine: these cases drive it with ledger events
 * directly and read what it appended.
 */
describe('attribution_registry projection', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  let runner: ProjectionRunner;
  const moves = async () =>
    (await store.readAll({ eventTypes: [usageReattributedType], maxCount: 1_000 })).map((e) => {
      const r = e.data as unknown as UsageReattributedV1;
      return [r.usageId, r.next.status === 'attributed' ? r.next.accountId : `parked:${r.next.reason}`, r.reason];
    });
  const tables = () =>
    Promise.all([
      db.query(`select tenant, account_id, subscriptions from "${schema}".accounts order by account_id`),
      db.query(`select * from "${schema}".subject_timelines order by subject`),
      db.query(`select usage_id, attribution, voided_at from "${schema}".subject_usage order by usage_id`),
    ]);
  const append = (stream: string, type: string, data: Record<string, unknown>) =>
    store.appendToStream(stream, [{ id: randomUUID(), type, data }]);
  const open = (accountId: string) =>
    append(accountStream('t1', accountId), 'AccountOpened', {
      tenant: 't1',
      accountId,
      name: accountId,
      currency: 'USD',
      timezone: 'UTC',
      openedAt: day(1),
    });
  const subscribe = (accountId: string, startsAt: string) =>
    append(accountStream('t1', accountId), 'SubscriptionStarted', {
      tenant: 't1',
      accountId,
      subscriptionId: `sub-${accountId}`,
      planId: 'pro',
      startsAt,
      endsAt: null,
      at: day(1),
    });

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: registryMigrations });
    runner = new ProjectionRunner((s) => registryProjection(new RegistryTables(s), store), db, store, {
      connectionString: testDatabaseUrl(),
      schema,
      onError: (e) => console.error(e),
    });
    // Usage parked before anything is known about its subject: one before the owner's time, two inside.
    const usage = [
      parked('inst-1', 'e-before-owner', '2026-10-31T23:59:59.999Z'),
      parked('inst-1', 'e-early', day(10)),
      parked('inst-1', 'e-mid', day(16)),
    ];
    await store.appendToStream(
      parkedUsageStream('t1', 'inst-1'),
      usage.map((u) => ({ id: u.usageId, type: usageRecordedType, data: { ...u } })),
    );
    await open('acme');
    await open('globex');
    await subscribe('acme', day(1));
    await subscribe('globex', day(1));
    await append(subjectStream('t1', 'inst-1'), 'SubjectAssigned', {
      tenant: 't1',
      subject: 'inst-1',
      accountId: 'acme',
      effectiveFrom: day(1),
      attributes: { app: 'a' },
      assignedAt: day(20),
    });
    // Parked after the assignment was recorded (the ledger writer read a stale registry): still attributed.
    const late = parked('inst-1', 'e-late', day(21));
    await store.appendToStream(parkedUsageStream('t1', 'inst-1'), [
      { id: late.usageId, type: usageRecordedType, data: { ...late } },
    ]);
    // Backdated transfer to globex on the 15th, then a retroactive correction: it was globex's already from the 5th.
    await append(subjectStream('t1', 'inst-1'), 'SubjectAssigned', {
      tenant: 't1',
      subject: 'inst-1',
      accountId: 'globex',
      effectiveFrom: day(15),
      attributes: { app: 'a' },
      assignedAt: day(22),
    });
    await append(subjectStream('t1', 'inst-1'), 'SubjectAssignmentCorrected', {
      tenant: 't1',
      subject: 'inst-1',
      accountId: 'globex',
      effectiveFrom: day(5),
      effectiveTo: null,
      attributes: { app: 'a' },
      reason: 'contract signed on the 5th',
      correctedAt: day(23),
    });
    await runner.start();
    await eventually(moves, (list) => list.length === 7, 5_000);
    await runner.caughtUp();
  });
  afterAll(async () => {
    await runner?.stop();
    await db?.destroy();
    await store?.close();
    await dropSchemas(namespace);
  });

  it('attributes parked usage when its subject is registered, moves it on a backdated transfer and on a correction — each move once', async () => {
    const id = (e: string) => usageLedgerId('t1', '//fn', e);
    expect(await moves()).toEqual([
      // registration: the early-November events go to acme; the one before acme's time stays parked, with a truer reason
      [id('e-before-owner'), 'parked:no_owner_at_time', 'subject registered'],
      [id('e-early'), 'acme', 'subject registered'],
      [id('e-mid'), 'acme', 'subject registered'],
      // recorded parked after the registration: corrected at once
      [id('e-late'), 'acme', 'the registry had changed when the usage was recorded'],
      // backdated transfer on the 15th: exactly the usage from the 15th on moves to globex
      [id('e-mid'), 'globex', 'subject transferred'],
      [id('e-late'), 'globex', 'subject transferred'],
      // "it was globex's from the 5th": exactly the 10th moves too; nothing before the 5th does
      [id('e-early'), 'globex', 'assignment corrected: contract signed on the 5th'],
    ]);
  });

  it('a batch applied twice changes nothing, in its tables or in the ledger', async () => {
    const before = { rows: await tables(), ledger: await moves() };
    const batch = await store.readAll({ maxCount: 1_000 });
    await runner.applyBatch(batch);
    await runner.applyBatch(batch);
    expect({ rows: await tables(), ledger: await moves() }).toEqual(before);
  });

  it('rebuilt from zero gives the same rows and appends nothing new', async () => {
    const before = { rows: await tables(), ledger: await moves() };
    await runner.rebuild();
    await runner.caughtUp();
    expect({ rows: await tables(), ledger: await moves() }).toEqual(before);
  });
});
