import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import {
  MeterHourTables,
  rollupMigrations,
  RollupTables,
  UsageChangeTables,
} from '@tally/aggregation/data-access-usage';
import {
  Attribution,
  UsageAmendedV1,
  usageAmendedType,
  UsageReattributedV1,
  usageReattributedType,
  UsageRecordedV1,
  usageRecordedType,
  UsageVoidedV1,
  usageVoidedType,
} from '@tally/contracts/usage';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { openAppDataSource, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { usageRollupProjection } from './usage-rollup.projection';

const namespace = uniqueName('rollup');
const schema = `${namespace}_aggregation`;

const recorded = (accountId: string | undefined, time: string, eventType = 'fn.invocation'): UsageRecordedV1 => ({
  tenant: 't1',
  usageId: randomUUID(),
  source: '//fn',
  eventId: randomUUID(),
  eventType,
  subject: 'inst-1',
  time,
  receivedAt: time,
  data: {},
  attribution: accountId ? paying(accountId) : { status: 'parked', reason: 'unknown_subject' },
});
const paying = (accountId: string): Attribution => ({
  status: 'attributed',
  accountId,
  subscriptionId: `sub-${accountId}`,
  planId: 'pro',
  attributes: {},
});
const moved = (u: UsageRecordedV1, previous: Attribution, next: Attribution): UsageReattributedV1 => ({
  tenant: 't1',
  usageId: u.usageId,
  subject: u.subject,
  eventType: u.eventType,
  time: u.time,
  previous,
  next,
  reason: 'test',
  causeId: randomUUID(),
});

describe('aggregation_usage_rollup projection', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  let runner: ProjectionRunner;
  const rows = () =>
    db.query(`select account_id, event_type, minute, events::text from "${schema}".usage_minute order by 1, 2, 3`);
  /** Everything the projection owns, for the mandatory "batch twice" and "rebuild" cases. */
  const everything = async () => ({
    minutes: await rows(),
    facts: await db.query(
      `select usage_id, account_id, event_type, time, voided, data, attributes from "${schema}".usage_facts order by usage_id`,
    ),
    voided: await db.query(`select usage_id from "${schema}".voided_usage order by usage_id`),
    hours: await db.query(
      `select meter, account_id, hour, groups, attributes, events::text, readings::text, total::text from "${schema}".meter_hours where events <> 0 order by meter, account_id, hour, groups::text, attributes::text`,
    ),
    changes: await changes(),
  });
  const changes = async (): Promise<{ account_id: string; hour: string; position: string }[]> =>
    (
      await db.query(`select account_id, hour, position::text from "${schema}".usage_changes order by account_id, hour`)
    ).map((r: { account_id: string; hour: Date; position: string }) => ({ ...r, hour: r.hour.toISOString() }));
  const positionOf = async (id: string): Promise<bigint> =>
    BigInt(
      (
        (await db.query(`select global_position::text as p from "${namespace}_ledger".events where event_id = $1`, [
          id,
        ])) as {
          p: string;
        }[]
      )[0].p,
    );

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: rollupMigrations });
    runner = new ProjectionRunner(
      (s) => usageRollupProjection(new RollupTables(s, schema), undefined, new MeterHourTables(s, schema)),
      db,
      store,
      { connectionString: testDatabaseUrl(), schema, onError: (error) => console.error(error) },
    );
    // A meter over the events (COUNT), so the hourly buckets are kept too.
    await store.appendToStream('meter-t1_invocations', [
      {
        id: randomUUID(),
        type: 'MeterCreated',
        data: {
          tenant: 't1',
          slug: 'invocations',
          name: 'invocations',
          description: null,
          eventType: 'fn.invocation',
          aggregation: 'COUNT',
          valueProperty: null,
          groupBy: {},
          createdAt: '2026-11-01T00:00:00Z',
        },
      },
    ]);
    const parked = recorded(undefined, '2026-11-25T10:00:30Z');
    const attributedLater = moved(parked, parked.attribution, paying('globex'));
    const events = [
      recorded('acme', '2026-11-25T10:00:01Z'),
      recorded('acme', '2026-11-25T10:00:59.999Z'),
      recorded('acme', '2026-11-25T10:01:00Z'),
      recorded('acme', '2026-11-25T10:01:00Z', 'kv.read'),
      parked,
    ];
    await store.appendToStream(
      'usage-t1_mixed',
      events.map((e) => ({ id: e.usageId, type: usageRecordedType, data: { ...e } })),
    );
    await store.appendToStream('usage-t1_globex.2026-11', [
      { id: randomUUID(), type: usageReattributedType, data: { ...attributedLater } },
    ]);
    await runner.start();
    await runner.caughtUp();
  });
  afterAll(async () => {
    await runner?.stop();
    await db?.destroy();
    await store?.close();
    await dropSchemas(namespace);
  });

  it('counts attributed usage per account, type and minute; parked usage only once attributed', async () =>
    expect(await rows()).toEqual([
      { account_id: 'acme', event_type: 'fn.invocation', minute: new Date('2026-11-25T10:00:00Z'), events: '2' },
      { account_id: 'acme', event_type: 'fn.invocation', minute: new Date('2026-11-25T10:01:00Z'), events: '1' },
      { account_id: 'acme', event_type: 'kv.read', minute: new Date('2026-11-25T10:01:00Z'), events: '1' },
      { account_id: 'globex', event_type: 'fn.invocation', minute: new Date('2026-11-25T10:00:00Z'), events: '1' },
    ]));

  it('takes voided usage out once, and never counts usage voided before it arrives', async () => {
    const voided = (u: UsageRecordedV1): UsageVoidedV1 => ({
      tenant: 't1',
      usageId: u.usageId,
      source: u.source,
      eventId: u.eventId,
      reason: 'test traffic',
      correctedAt: u.time,
    });
    const counted = recorded('initech', '2026-11-25T11:00:10Z');
    const voidedFirst = recorded('initech', '2026-11-25T11:00:20Z');
    const kept = recorded('initech', '2026-11-25T11:00:30Z');
    await store.appendToStream(
      'usage-t1_initech.2026-11',
      [counted, kept].map((u) => ({ id: u.usageId, type: usageRecordedType, data: { ...u } })),
    );
    await store.appendToStream(`usagecorrections-t1_${counted.usageId}`, [
      { id: randomUUID(), type: usageVoidedType, data: { ...voided(counted) } },
    ]);
    await store.appendToStream(`usagecorrections-t1_${counted.usageId}`, [
      { id: randomUUID(), type: usageVoidedType, data: { ...voided(counted), reason: 'again' } },
    ]);
    await store.appendToStream(`usagecorrections-t1_${voidedFirst.usageId}`, [
      { id: randomUUID(), type: usageVoidedType, data: { ...voided(voidedFirst) } },
    ]);
    await store.appendToStream('usage-t1_initech.2026-11', [
      { id: voidedFirst.usageId, type: usageRecordedType, data: { ...voidedFirst } },
    ]);
    await runner.caughtUp();
    expect((await rows()).filter((r: { account_id: string }) => r.account_id === 'initech')).toEqual([
      { account_id: 'initech', event_type: 'fn.invocation', minute: new Date('2026-11-25T11:00:00Z'), events: '1' },
    ]);
  });

  it('moves usage between accounts when it is re-attributed, there and back, counting it once', async () => {
    const u = recorded('hooli', '2026-11-25T12:00:05Z');
    await store.appendToStream('usage-t1_hooli.2026-11', [{ id: u.usageId, type: usageRecordedType, data: { ...u } }]);
    await store.appendToStream('usage-t1_pied.2026-11', [
      { id: randomUUID(), type: usageReattributedType, data: { ...moved(u, paying('hooli'), paying('pied')) } },
      {
        id: randomUUID(),
        type: usageReattributedType,
        data: { ...moved(u, paying('pied'), { status: 'parked', reason: 'no_subscription' }) },
      },
      {
        id: randomUUID(),
        type: usageReattributedType,
        data: { ...moved(u, { status: 'parked', reason: 'no_subscription' }, paying('pied')) },
      },
    ]);
    await runner.caughtUp();
    const at12 = (await rows()).filter((r: { minute: Date }) => r.minute.toISOString() === '2026-11-25T12:00:00.000Z');
    expect(at12.filter((r: { events: string }) => r.events !== '0')).toEqual([
      { account_id: 'pied', event_type: 'fn.invocation', minute: new Date('2026-11-25T12:00:00Z'), events: '1' },
    ]);
  });

  it('keeps hourly meter buckets in step: moves, voids and parked usage included', async () => {
    const hours = (await everything()).hours.filter((h: { account_id: string }) =>
      ['acme', 'globex', 'initech', 'pied'].includes(h.account_id),
    );
    // acme 10:00: three fn.invocation (the kv.read is another meter's); globex: parked, then attributed; initech 11:00: of three,
    // one voided after it counted and one voided before it came; the moved one ends at pied, counted once. (These cases run in order.)
    expect(
      hours.map((h: { account_id: string; hour: Date; events: string }) => [
        h.account_id,
        h.hour.toISOString(),
        h.events,
      ]),
    ).toEqual([
      ['acme', '2026-11-25T10:00:00.000Z', '3'],
      ['globex', '2026-11-25T10:00:00.000Z', '1'],
      ['initech', '2026-11-25T11:00:00.000Z', '1'],
      ['pied', '2026-11-25T12:00:00.000Z', '1'],
    ]);
  });

  it('counts new usage into the buckets exactly as a recount from the facts in SQL would', async () => {
    await store.appendToStream('meter-t1_gb', [
      {
        id: randomUUID(),
        type: 'MeterCreated',
        data: {
          tenant: 't1',
          slug: 'gb',
          name: 'gb',
          description: null,
          eventType: 'fn.invocation',
          aggregation: 'SUM',
          valueProperty: '$.gbSeconds',
          groupBy: { region: '$.region' },
          createdAt: '2026-11-01T00:00:00Z',
        },
      },
    ]);
    const withData = (time: string, data: Record<string, unknown>) => ({ ...recorded('umbrella', time), data });
    const usage = [
      withData('2026-11-25T13:00:01Z', { gbSeconds: '0.1', region: 'eu' }),
      withData('2026-11-25T13:10:00Z', { gbSeconds: '12345678901234567890.000000001', region: 'eu' }),
      withData('2026-11-25T13:20:00Z', { gbSeconds: 'lots', region: 'us' }), // no reading, still an event
      withData('2026-11-25T13:30:00Z', { region: 'us' }),
      withData('2026-11-25T13:40:00Z', { gbSeconds: '2', region: { zone: 'a' } }), // an object as group value: counted the SQL way
    ];
    await store.appendToStream(
      'usage-t1_umbrella.2026-11',
      usage.map((u) => ({ id: u.usageId, type: usageRecordedType, data: { ...u } })),
    );
    await runner.caughtUp();
    const incremental = (await everything()).hours.filter((h: { meter: string }) => h.meter === 'gb');
    expect(
      incremental.map((h: { groups: unknown; events: string; readings: string; total: string }) => [
        h.groups,
        h.events,
        h.readings,
        h.total,
      ]),
    ).toEqual(
      expect.arrayContaining([
        // 0.1 + 12345678901234567890.000000001
        [{ region: 'eu' }, '2', '2', '12345678901234567890.100000001'],
        [{ region: 'us' }, '2', '0', '0'],
      ]),
    );
    // Recount from the facts in SQL (what MeterCreated's back-fill does): the same rows.
    await new MeterHourTables(schema).meterCreated(
      db,
      't1',
      {
        slug: 'gb',
        name: 'gb',
        description: null,
        eventType: 'fn.invocation',
        aggregation: 'SUM',
        valueProperty: '$.gbSeconds',
        groupBy: { region: '$.region' },
      },
      10n ** 12n,
    );
    expect((await everything()).hours.filter((h: { meter: string }) => h.meter === 'gb')).toEqual(incremental);
  });

  it("marks each hour a change touches with the change's ledger position: recorded, voided, moved (both accounts), amended", async () => {
    const marks = await changes();
    const at = (account: string) => marks.filter((m) => m.account_id === account).map((m) => [m.hour, m.position]);
    const ledger: { id: string; type: string; data: { usageId: string }; p: string }[] = await db.query(
      `select event_id as id, event_type as type, data, global_position::text as p from "${namespace}_ledger".events order by global_position`,
    );
    const last = (type: string, usageAccount: string) =>
      ledger.filter((e) => e.type === type && JSON.stringify(e.data).includes(`"${usageAccount}"`)).at(-1)?.p;
    // acme: recorded at 10:00 (the last of its four facts).
    expect(at('acme')).toEqual([['2026-11-25T10:00:00.000Z', last(usageRecordedType, 'acme')]]);
    // initech 11:00: the first void (the second found it voided, the third found no fact yet).
    expect(at('initech')).toEqual([
      ['2026-11-25T11:00:00.000Z', ledger.filter((e) => e.type === usageVoidedType).at(0)?.p],
    ]);
    // hooli → pied → parked → pied: hooli's hour changed when it moved out, pied's at the last move in.
    const moves = ledger.filter((e) => e.type === usageReattributedType);
    expect(at('hooli')).toEqual([['2026-11-25T12:00:00.000Z', moves.at(-3)?.p]]);
    expect(at('pied')).toEqual([['2026-11-25T12:00:00.000Z', moves.at(-1)?.p]]);

    // An amendment marks its fact's hour at its own position.
    const u = recorded('umbrella', '2026-11-20T08:30:00Z');
    const amendment: UsageAmendedV1 = {
      tenant: 't1',
      usageId: u.usageId,
      source: u.source,
      eventId: u.eventId,
      reason: 'fix',
      correctedAt: u.time,
      data: { fixed: true },
    };
    const amendId = randomUUID();
    await store.appendToStream('usage-t1_umbrella.2026-11', [
      { id: u.usageId, type: usageRecordedType, data: { ...u } },
    ]);
    await store.appendToStream(`usagecorrections-t1_${u.usageId}`, [
      { id: amendId, type: usageAmendedType, data: { ...amendment } },
    ]);
    await runner.caughtUp();
    expect((await changes()).filter((m) => m.account_id === 'umbrella' && m.hour.startsWith('2026-11-20'))).toEqual([
      { account_id: 'umbrella', hour: '2026-11-20T08:00:00.000Z', position: String(await positionOf(amendId)) },
    ]);
  });

  it('answers which hours of an account changed after a position, merged into ranges; null where it cannot say', async () => {
    // Another tenant: t1's meters were re-cut at a made-up position above (its catalog "changed" far ahead).
    const inT2 = (time: string) => ({ ...recorded('wonka', time), tenant: 't2' });
    const first = inT2('2026-09-15T00:00:00Z');
    const later = ['2026-10-01T09:10:00Z', '2026-10-01T10:59:00Z', '2026-10-01T12:00:00Z', '2026-11-02T00:00:00Z'].map(
      inT2,
    );
    await store.appendToStream('usage-t2_wonka.2026-09', [
      { id: first.usageId, type: usageRecordedType, data: { ...first } },
    ]);
    await store.appendToStream(
      'usage-t2_wonka.2026-10',
      later.map((e) => ({ id: e.usageId, type: usageRecordedType, data: { ...e } })),
    );
    await runner.caughtUp();
    const since = await positionOf(first.usageId);
    const checkpoint = async () => {
      const [{ p }] = await db.query(
        `select position::text as p from "${schema}".projection_checkpoints where name = 'aggregation_usage_rollup'`,
      );
      return BigInt(p);
    };
    const head = await checkpoint();
    const tables = new UsageChangeTables(schema);
    const ask = async (s: bigint, before: string, at = head) =>
      (
        await tables.changedSince(db, 't2', [{ key: 7, accountId: 'wonka', since: s, before: new Date(before) }], at)
      ).get(7);
    // After the first event: 09:00–11:00 and 12:00 on 1 October; 2 November is not before 1 November.
    expect(await ask(since, '2026-11-01T00:00:00Z')).toEqual([
      { from: '2026-10-01T09:00:00.000Z', to: '2026-10-01T11:00:00.000Z' },
      { from: '2026-10-01T12:00:00.000Z', to: '2026-10-01T13:00:00.000Z' },
    ]);
    // Nothing changed after the checkpoint; an hour that starts before `before` counts (it overlaps the period).
    expect(await ask(head, '2026-12-01T00:00:00Z')).toEqual([]);
    expect(await ask(since, '2026-10-01T12:30:00Z')).toHaveLength(2);
    expect(await ask(since, '2026-10-01T12:00:00Z')).toHaveLength(1);
    // Cannot say: the rollups have not reached `since`; marks kept only from after it; a meter created after it.
    expect(await ask(head + 1n, '2026-12-01T00:00:00Z')).toBeNull();
    await db.query(`update "${schema}".usage_changes_kept set from_position = $1`, [String(since + 1n)]);
    try {
      expect(await ask(since, '2026-12-01T00:00:00Z')).toBeNull();
      expect(await ask(since + 1n, '2026-12-01T00:00:00Z')).not.toBeNull();
    } finally {
      await db.query(`update "${schema}".usage_changes_kept set from_position = 0`);
    }
    // Marks are kept from just before the first batch the marking code ever applied (an older replica may have
    // applied usage unmarked until then), once: later batches, restarts included, leave it.
    await db.query(`update "${schema}".usage_changes_kept set marking_started = false, from_position = 0`);
    try {
      const rollups = new RollupTables(schema);
      expect(await rollups.startMarking(db, 50n)).toBe(false);
      expect(await rollups.startMarking(db, 80n)).toBe(true);
      expect(await db.query(`select from_position::text, marking_started from "${schema}".usage_changes_kept`)).toEqual(
        [{ from_position: '49', marking_started: true }],
      );
    } finally {
      await db.query(`update "${schema}".usage_changes_kept set from_position = 0`);
    }
    await store.appendToStream('meter-t2_reads', [
      {
        id: randomUUID(),
        type: 'MeterCreated',
        data: {
          tenant: 't2',
          slug: 'reads',
          name: 'reads',
          description: null,
          eventType: 'kv.read',
          aggregation: 'COUNT',
          valueProperty: null,
          groupBy: {},
          createdAt: '2026-11-01T00:00:00Z',
        },
      },
    ]);
    await runner.caughtUp();
    expect(await ask(since, '2026-12-01T00:00:00Z', await checkpoint())).toBeNull();
  });

  it("marks the account whose time-weighted level a change of another account's report ends or lengthens", async () => {
    await store.appendToStream('meter-t3_disk', [
      {
        id: randomUUID(),
        type: 'MeterCreated',
        data: {
          tenant: 't3',
          slug: 'disk',
          name: 'disk',
          description: null,
          eventType: 'disk.level',
          aggregation: 'TIME_WEIGHTED_SUM',
          valueProperty: '$.gb',
          groupBy: {},
          createdAt: '2026-01-01T00:00:00Z',
        },
      },
    ]);
    const report = (account: string | undefined, time: string, gb: string) => ({
      ...recorded(account, time, 'disk.level'),
      tenant: 't3',
      subject: 'vm-1',
      data: { gb },
    });
    // A's level from 5 January (a report without a reading on 20 January, B's, ends nothing); then, recorded late,
    // B's report of the same subject on 26 January ends it there.
    const a = report('alpha', '2026-01-05T10:00:00Z', '8');
    const valueless = { ...report('beta', '2026-01-20T00:00:00Z', '0'), data: { note: 'no reading' } };
    await store.appendToStream('usage-t3_alpha.2026-01', [{ id: a.usageId, type: usageRecordedType, data: { ...a } }]);
    await store.appendToStream('usage-t3_beta.2026-01', [
      { id: valueless.usageId, type: usageRecordedType, data: { ...valueless } },
    ]);
    await runner.caughtUp();
    const b = report('beta', '2026-01-26T00:30:00Z', '4');
    await store.appendToStream('usage-t3_beta.2026-01', [{ id: b.usageId, type: usageRecordedType, data: { ...b } }]);
    // A parked report (nobody's) ends B's level too.
    const parked = report(undefined, '2026-02-10T07:00:00Z', '1');
    await store.appendToStream('parkedusage-t3_vm-1', [
      { id: parked.usageId, type: usageRecordedType, data: { ...parked } },
    ]);
    await runner.caughtUp();
    const marks = async (account: string) =>
      (
        await db.query(
          `select hour, position::text from "${schema}".usage_changes where tenant = 't3' and account_id = $1 order by hour`,
          [account],
        )
      ).map((r: { hour: Date; position: string }) => [r.hour.toISOString(), r.position]);
    const [pa, pv, pb, pp] = await Promise.all([a, valueless, b, parked].map((r) => positionOf(r.usageId)));
    // The valueless report marks alpha too (it is cautious: recording one changes no level).
    expect(await marks('alpha')).toEqual([
      ['2026-01-05T10:00:00.000Z', String(pa)],
      ['2026-01-20T00:00:00.000Z', String(pv)],
      ['2026-01-26T00:00:00.000Z', String(pb)],
    ]);
    expect(await marks('beta')).toEqual([
      ['2026-01-20T00:00:00.000Z', String(pv)],
      ['2026-01-26T00:00:00.000Z', String(pb)],
      ['2026-02-10T07:00:00.000Z', String(pp)],
    ]);
    // B's report voided: A's level holds on past 26 January again — A's hour there changes once more.
    const voidId = randomUUID();
    const voiding: UsageVoidedV1 = {
      tenant: 't3',
      usageId: b.usageId,
      source: b.source,
      eventId: b.eventId,
      reason: 'wrong',
      correctedAt: b.time,
    };
    await store.appendToStream(`usagecorrections-t3_${b.usageId}`, [
      { id: voidId, type: usageVoidedType, data: { ...voiding } },
    ]);
    await runner.caughtUp();
    expect((await marks('alpha')).at(-1)).toEqual(['2026-01-26T00:00:00.000Z', String(await positionOf(voidId))]);
  });

  it('a batch applied twice changes nothing', async () => {
    const before = await everything();
    const batch = await store.readAll({
      eventTypes: [usageRecordedType, usageReattributedType, usageVoidedType, usageAmendedType, 'MeterCreated'],
      maxCount: 100,
    });
    await runner.applyBatch(batch);
    await runner.applyBatch(batch);
    expect(await everything()).toEqual(before);
  });

  it('rebuilt from zero gives the same rows', async () => {
    const before = await everything();
    await runner.rebuild();
    await runner.caughtUp();
    expect(await everything()).toEqual(before);
  });
});
