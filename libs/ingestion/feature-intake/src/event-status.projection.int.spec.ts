import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Attribution, usageLedgerId } from '@tally/contracts/usage';
import { EventStatusTables, intakeMigrations } from '@tally/ingestion/data-access-intake';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { openAppDataSource, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { eventStatusProjection } from './event-status.projection';

const namespace = uniqueName('evstatus');
const schema = `${namespace}_ingestion`;
const source = '//fn-runtime/eu-1';
const attributed = (accountId: string): Attribution => ({
  status: 'attributed',
  accountId,
  subscriptionId: `sub-${accountId}`,
  planId: 'payg',
  attributes: {},
});
const parked: Attribution = { status: 'parked', reason: 'unknown_subject' };

/** The mandatory cases for ingestion_event_status: a batch applied twice changes nothing; a rebuild gives the same rows. */
describe('ingestion_event_status projection', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  let runner: ProjectionRunner;
  const rows = () =>
    db.query(
      `select usage_id, source, event_id, parked_reason, account_id, current, void_reason, amend_reason,
              recorded_at is not null as recorded, attributed_at is not null as attributed, parked_at is not null as was_parked
         from "${schema}".event_status order by event_id`,
    );
  const usage = (id: string, attribution: Attribution) => {
    const usageId = usageLedgerId('t1', source, id);
    return {
      usageId,
      data: {
        tenant: 't1',
        usageId,
        source,
        eventId: id,
        eventType: 'fn.invocation',
        subject: 'inst-1',
        time: '2026-11-20T10:00:00.000Z',
        receivedAt: '2026-11-20T10:00:01.000Z',
        data: { gbSeconds: '1' },
        attribution,
      },
    };
  };

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: intakeMigrations });
    const append = (stream: string, type: string, data: object) =>
      store.appendToStream(stream, [{ id: randomUUID(), type, data: { ...data } }]);
    const a = usage('e-attributed', attributed('acme'));
    const p = usage('e-parked', parked);
    const v = usage('e-voided', attributed('acme'));
    const m = usage('e-amended', attributed('acme'));
    for (const u of [a, p, v, m]) await append('usage-t1_acme.2026-11', 'UsageRecorded', u.data);
    await append('usage-t1_globex.2026-11', 'UsageReattributed', {
      tenant: 't1',
      usageId: p.usageId,
      subject: 'inst-1',
      eventType: 'fn.invocation',
      time: p.data.time,
      previous: parked,
      next: attributed('globex'),
      reason: 'subject registered',
      causeId: randomUUID(),
    });
    const correction = (u: typeof v, reason: string) => ({
      tenant: 't1',
      usageId: u.usageId,
      source,
      eventId: u.data.eventId,
      reason,
      correctedAt: '2026-11-21T00:00:00.000Z',
    });
    await append(`usagecorrections-t1_${v.usageId}`, 'UsageVoided', correction(v, 'sent twice by mistake'));
    await append(`usagecorrections-t1_${m.usageId}`, 'UsageAmended', {
      ...correction(m, 'wrong memory size'),
      data: { gbSeconds: '2' },
    });
    runner = new ProjectionRunner((s) => eventStatusProjection(new EventStatusTables(s)), db, store, {
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

  it('follows each event: recorded, parked then attributed, voided, amended', async () => {
    expect(await rows()).toMatchObject([
      { event_id: 'e-amended', account_id: 'acme', amend_reason: 'wrong memory size', recorded: true },
      { event_id: 'e-attributed', account_id: 'acme', recorded: true, void_reason: null },
      { event_id: 'e-parked', account_id: 'globex', recorded: true, was_parked: true, attributed: true },
      { event_id: 'e-voided', void_reason: 'sent twice by mistake', recorded: true },
    ]);
  });

  it('a batch applied twice changes nothing', async () => {
    const before = await rows();
    const batch = await store.readAll({ eventTypes: runner.projection.eventTypes, maxCount: 100 });
    await runner.applyBatch(batch);
    await runner.applyBatch(batch);
    expect(await rows()).toEqual(before);
  });

  it('takes consecutive records in one statement, even when one usage is recorded twice in a batch', async () => {
    // Never written by the ledger writer (a usage id is recorded once), but one upsert may not touch a row twice:
    // the batch is split at the repeat, and the first record keeps its place as if applied one by one.
    const twice = usage('e-twice', parked);
    const first = await store.appendToStream('usage-t1_acme.2026-11', [
      { id: randomUUID(), type: 'UsageRecorded', data: { ...twice.data } },
      { id: randomUUID(), type: 'UsageRecorded', data: { ...twice.data, attribution: attributed('acme') } },
    ]);
    expect(first.written).toBe(2);
    await runner.caughtUp();
    const [row] = (await rows()).filter((r: { event_id: string }) => r.event_id === 'e-twice');
    expect(row).toMatchObject({ parked_reason: 'unknown_subject', account_id: 'acme', current: 'parked' });
  });

  it('rebuilt from zero gives the same rows', async () => {
    const before = await rows();
    await runner.rebuild();
    await runner.caughtUp();
    expect(await rows()).toEqual(before);
  });
});
