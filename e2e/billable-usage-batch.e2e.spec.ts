import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  billableUsageBatchSubject,
  BillableUsageBatchReplyV1,
  BillableUsageReplyV1,
  billableUsageSubject,
} from '@tally/contracts/meters';
import { accountUsageStream, usageLedgerId, usageRecordedType, UsageRecordedV1 } from '@tally/contracts/usage';
import { decodeJson, encodeJson, JetStreamBus } from '@tally/shared/data-access-messaging';
import { BillableUsageClient } from '@tally/invoicing/feature-billing';
import { ProjectionCatalog, RunningTally } from '@tally/shared/feature-runtime';
import { connect } from '@nats-io/transport-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { dropSchemas, eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { deleteStreams, http, startApp } from './support';

/** Aggregation answering many billable-usage queries in one request: each answer as its query alone would have it. */
describe('billable usage in batches', () => {
  const namespace = uniqueName('usagebatch');
  const tenant = 'default';
  let aggregation: RunningTally;
  let bus: JetStreamBus;

  const usage = (n: number, accountId: string, app: string, time: string, gbSeconds: string): UsageRecordedV1 => ({
    tenant,
    usageId: usageLedgerId(tenant, '//forge/fn', `e${n}`),
    source: '//forge/fn',
    eventId: `e${n}`,
    eventType: 'fn.invocation',
    subject: `inst-${accountId}-${app}`,
    time,
    receivedAt: time,
    data: { gbSeconds },
    attribution: {
      status: 'attributed',
      accountId,
      subscriptionId: `sub-${accountId}`,
      planId: 'p',
      attributes: { app },
    },
  });

  const ask = async <R>(subject: string, body: unknown, timeoutMs = 10_000): Promise<R> =>
    decodeJson<R>((await bus.request(subject, encodeJson(body), { timeoutMs })).data);

  /**
   * Eight queries asked while the hourly buckets are locked, the lock held `heldMs` once three of them wait on it (the
   * responder's three places: a pool of five, less two); each answer, or its error's detail.
   */
  const askWhileBucketsLocked = async (heldMs: number, timeoutMs: number) => {
    const locker = new Client({ connectionString: testDatabaseUrl() });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query(`lock table "${namespace}_aggregation".meter_hours in access exclusive mode`);
      const replies = Promise.all(
        Array.from({ length: 8 }, () =>
          ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query('acme') }, timeoutMs),
        ),
      );
      await eventually(
        () =>
          locker.query(
            `select count(*)::int as n from pg_locks where not granted and relation = '"${namespace}_aggregation".meter_hours'::regclass`,
          ),
        (r) => r.rows[0].n >= 3,
        10_000,
      );
      await sleep(heldMs);
      await locker.query('commit');
      return (await replies).map((r) => (r.ok ? 'answered' : r.error.detail));
    } finally {
      await locker.end();
    }
  };

  // Whole hours (read from the hourly buckets, one statement for the batch) and a window that is not (read on its own).
  const march = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
  const partial = { from: '2026-03-10T10:30:00Z', to: '2026-03-20T00:00:00Z' };
  const query = (accountId: string) => ({
    accountId,
    intervals: [march, partial],
    meters: [
      { meter: 'fn_gbs', per: null },
      { meter: 'fn_gbs', per: 'app' },
    ],
    asOf: '2026-04-02T00:00:00Z',
  });

  beforeAll(async () => {
    aggregation = await startApp('aggregation', namespace);
    bus = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
    await http('POST', `${aggregation.url}/api/v1/meters`, {
      slug: 'fn_gbs',
      name: 'Function GB-seconds',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
      groupBy: {},
    });
    const events = [
      usage(1, 'acme', 'app1', '2026-03-05T10:00:00Z', '100.5'),
      usage(2, 'acme', 'app2', '2026-03-12T09:15:00Z', '20'),
      usage(3, 'acme', 'app1', '2026-03-15T23:59:59Z', '0.25'),
      usage(4, 'globex', 'bapp', '2026-03-10T10:45:00Z', '7'),
      usage(5, 'globex', 'bapp', '2026-03-10T10:15:00Z', '3'),
    ];
    await aggregation.runtime.eventStore.appendToStreams(
      events.map((u) => ({
        stream: accountUsageStream(
          tenant,
          u.attribution?.status === 'attributed' ? u.attribution.accountId : '',
          new Date(u.time),
        ),
        events: [{ id: u.usageId, type: usageRecordedType, data: { ...u } }],
      })),
    );
    // Every event in the rollups: the account's whole month adds up.
    await eventually(
      () => ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query('acme'), fresh: true }),
      (reply) => reply.ok && reply.values.some((v) => v.interval === 0 && v.per === null && v.quantity === '120.75'),
      20_000,
    );
  }, 60_000);

  afterAll(async () => {
    await bus?.close();
    await aggregation?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('answers each query of a batch as it would answer it alone, refusing only the queries that are wrong', async () => {
    const alone = await Promise.all(
      ['acme', 'globex', 'nobody'].map((a) => ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query(a) })),
    );
    expect(alone.every((r) => r.ok)).toBe(true);
    const unknownMeter = { ...query('acme'), meters: [{ meter: 'no_such_meter', per: null }] };
    const badInterval = { ...query('acme'), intervals: [{ from: '2026-03-02T00:00:00Z', to: '2026-03-01T00:00:00Z' }] };
    const batch = await ask<BillableUsageBatchReplyV1>(billableUsageBatchSubject, {
      tenant,
      queries: [query('acme'), unknownMeter, query('globex'), badInterval, query('nobody')],
    });
    expect(batch.ok).toBe(true);
    if (!batch.ok) return;
    const [acme, unknown, globex, bad, nobody] = batch.answers;
    const values = (r: BillableUsageReplyV1) => (r.ok ? r.values : r);
    expect(values(acme)).toEqual(values(alone[0]));
    expect(values(globex)).toEqual(values(alone[1]));
    expect(values(nobody)).toEqual(values(alone[2]));
    expect(unknown).toEqual({ ok: false, error: { type: 'unknown_meter', detail: 'no live meter no_such_meter' } });
    expect(bad).toMatchObject({ ok: false, error: { type: 'bad_request' } });
    // The figures themselves: Acme's month 120.75 (app1 100.75, app2 20); from 10 March 10:30, app2's 20 and app1's 0.25.
    const pick = (r: BillableUsageReplyV1, interval: number, per: string | null) =>
      (r.ok ? r.values : [])
        .filter((v) => v.interval === interval && v.per === per)
        .map((v) => [v.perValue, v.quantity])
        .sort();
    expect(pick(acme, 0, null)).toEqual([[null, '120.75']]);
    expect(pick(acme, 0, 'app')).toEqual([
      ['app1', '100.75'],
      ['app2', '20'],
    ]);
    expect(pick(acme, 1, null)).toEqual([[null, '20.25']]);
    // Globex's 10:15 report is before the partial window's 10:30 start: only the 10:45 one is in it.
    expect(pick(globex, 1, null)).toEqual([[null, '7']]);
    // One snapshot: every answer of the batch at the same ledger position.
    expect(new Set([acme, globex, nobody].map((r) => r.ok && r.position)).size).toBe(1);
  });

  it('refuses a batch without its queries as a bad request, and goes on answering', async () => {
    expect(await ask(billableUsageBatchSubject, { tenant, queries: 'all of them' })).toMatchObject({
      ok: false,
      error: { type: 'bad_request' },
    });
    expect(await ask(billableUsageBatchSubject, { tenant, queries: [] })).toEqual({ ok: true, answers: [] });
    // Malformed queries among good ones: each refused in place, the good one answered.
    const mixed = await ask<BillableUsageBatchReplyV1>(billableUsageBatchSubject, {
      tenant,
      queries: [null, { ...query('acme'), meters: [null] }, { ...query('acme'), intervals: [null] }, query('acme')],
    });
    expect(mixed.ok && mixed.answers.map((a) => (a.ok ? 'answered' : a.error.type))).toEqual([
      'bad_request',
      'bad_request',
      'bad_request',
      'answered',
    ]);
    const again = await ask<BillableUsageBatchReplyV1>(billableUsageBatchSubject, { tenant, queries: [query('acme')] });
    expect(again.ok && again.answers[0].ok).toBe(true);
  });

  it("invoicing's client sends the queries asked at the same moment as one batch, and each caller gets its own answer", async () => {
    const nats = await connect({ servers: testNatsUrl() });
    const seen: { subject: string; queries: number }[] = [];
    const watch = nats.subscribe(`${namespace}.aggregation.qry.>`);
    void (async () => {
      for await (const m of watch) {
        const body = m.json() as { queries?: unknown[] };
        seen.push({ subject: m.subject.slice(namespace.length + 1), queries: body.queries?.length ?? 1 });
      }
    })();
    await nats.flush();
    const client = new BillableUsageClient(bus, { current: tenant }, () => new Date('2026-04-02T00:00:00Z'));
    const { asOf: _, ...asked } = query('acme');
    const answers = await Promise.all(
      ['acme', 'globex', 'nobody'].map((a) => client.quantities({ ...asked, accountId: a })),
    );
    const alone = await ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query('globex') });
    expect(answers[1]).toEqual(alone.ok && alone.values);
    expect(answers[0].find((v) => v.interval === 0 && v.per === null)?.quantity).toBe('120.75');
    expect(answers[2]).toEqual([]);
    await nats.flush();
    expect(seen.slice(0, 1)).toEqual([{ subject: billableUsageBatchSubject, queries: 3 }]);
    await nats.close();
  });
  it('says which hours of an account changed after a position; a time-weighted meter carries a change on', async () => {
    await http('POST', `${aggregation.url}/api/v1/meters`, {
      slug: 'disk_gb',
      name: 'Disk GB',
      eventType: 'disk.level',
      aggregation: 'TIME_WEIGHTED_SUM',
      valueProperty: '$.gb',
      groupBy: {},
    });
    const plain = { tenant, accountId: 'acme', intervals: [], meters: [] };
    // Once the rollups have the new meter, its creation is behind the position asked from.
    const settled = await eventually(
      () =>
        ask<BillableUsageReplyV1>(billableUsageSubject, {
          ...query('acme'),
          tenant,
          meters: [{ meter: 'disk_gb', per: null }],
          fresh: true,
        }),
      (reply) => reply.ok,
      20_000,
    );
    const since = settled.ok ? settled.position : '';
    const changes = (meters: string[], from = since) => ({
      ...plain,
      changes: { since: from, before: '2026-04-01T00:00:00Z', meters },
    });
    const changedOf = async (body: unknown) => {
      const reply = await ask<BillableUsageReplyV1>(billableUsageSubject, body);
      return reply.ok ? reply.changed : reply.error.type;
    };
    expect(await changedOf(changes(['fn_gbs']))).toEqual([]);
    // A late event in March: its hour changed, nothing else.
    const late = usage(6, 'acme', 'app1', '2026-03-20T05:10:00Z', '1');
    await aggregation.runtime.eventStore.appendToStream(accountUsageStream(tenant, 'acme', new Date(late.time)), [
      { id: late.usageId, type: usageRecordedType, data: { ...late } },
    ]);
    const hour = [{ from: '2026-03-20T05:00:00.000Z', to: '2026-03-20T06:00:00.000Z' }];
    expect(
      await eventually(
        () => changedOf(changes(['fn_gbs'])),
        (c) => Array.isArray(c) && c.length > 0,
        20_000,
      ),
    ).toEqual(hour);
    // Periods charging a time-weighted meter: a level holds across periods, so the change reaches every later one.
    expect(await changedOf(changes(['fn_gbs', 'disk_gb']))).toEqual([
      { from: '2026-03-20T05:00:00.000Z', to: '2026-04-01T00:00:00.000Z' },
    ]);
    // Cannot say for a meter it does not know; nothing changed for another account or after the late event.
    expect(await changedOf(changes(['fn_gbs', 'gone']))).toBeNull();
    expect(await changedOf({ ...changes(['fn_gbs']), accountId: 'globex' })).toEqual([]);
    const after = await ask<BillableUsageReplyV1>(billableUsageSubject, { ...plain, fresh: true });
    expect(await changedOf(changes(['fn_gbs'], after.ok ? after.position : ''))).toEqual([]);
    // In a batch, each query its own answer; a malformed question is refused in words.
    const batch = await ask<BillableUsageBatchReplyV1>(billableUsageBatchSubject, {
      tenant,
      queries: [
        changes(['fn_gbs']),
        { ...plain, changes: { since: 'last week', before: '2026-04-01T00:00:00Z', meters: [] } },
      ],
    });
    expect(batch.ok && batch.answers.map((a) => (a.ok ? a.changed : a.error))).toEqual([
      hour,
      {
        type: 'bad_request',
        detail:
          'changes needs since (a ledger position, decimal digits), before (an RFC 3339 instant) and meters (slugs)',
      },
    ]);
    // Without the question, no `changed` in the answer.
    expect(await ask(billableUsageSubject, plain)).not.toHaveProperty('changed');
  });
  it('queries beyond what the Postgres pool holds wait their turn, rather than fail on its connection timeout', async () => {
    // Locked longer than the pool's 5 s connection timeout: three queries read (and wait on the lock), five wait in
    // the responder — without its bound they would fail on the pool's timeout.
    expect(await askWhileBucketsLocked(6_000, 10_000)).toEqual(Array(8).fill('answered'));
  }, 30_000);
  it("drops a query that waited in the responder past the asker's 30 s: no snapshot is read for nobody", async () => {
    // Locked 32 s: the five waiting for a place have waited past the 30 s invoicing waits for an answer when the lock
    // goes. This test's asker waits longer than invoicing would, to see what the responder does.
    expect((await askWhileBucketsLocked(32_000, 50_000)).sort()).toEqual([
      ...Array(3).fill('answered'),
      ...Array(5).fill('waited too long for a Postgres connection (the asker has given up); ask again'),
    ]);
  }, 60_000);
  it('answers nothing fresh while the meter catalog lags a meter change the rollups have applied', async () => {
    const catalog = aggregation.app.get(ProjectionCatalog).get('aggregation_meters');
    await catalog.stop();
    try {
      await http('POST', `${aggregation.url}/api/v1/meters`, {
        slug: 'kv_reads',
        name: 'KV reads',
        eventType: 'kv.read',
        aggregation: 'COUNT',
        groupBy: {},
      });
      const db = new Client({ connectionString: testDatabaseUrl() });
      await db.connect();
      try {
        await eventually(
          () => db.query(`select 1 from "${namespace}_aggregation".rollup_meters where slug = 'kv_reads'`),
          (r) => r.rowCount === 1,
          20_000,
        );
      } finally {
        await db.end();
      }
      // A finalization would rate with definitions older than the rollups' and settle its periods on them.
      expect(await ask(billableUsageSubject, { tenant, ...query('acme'), fresh: true })).toEqual({
        ok: false,
        error: {
          type: 'rollups_behind',
          detail: 'aggregation_meters has not applied a meter change the rollups have (lagging); retry shortly',
        },
      });
      // Drafts (not fresh) are answered meanwhile.
      expect(await ask(billableUsageSubject, { tenant, ...query('acme') })).toMatchObject({ ok: true });
    } finally {
      void catalog.start();
    }
    await eventually(
      () => ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query('acme'), fresh: true }),
      (r) => r.ok,
      20_000,
    );
  });
  it('a snapshot whose Postgres connection dies is answered unavailable, and frees its place for the next queries', async () => {
    const locker = new Client({ connectionString: testDatabaseUrl() });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query(`lock table "${namespace}_aggregation".meter_hours in access exclusive mode`);
      const replies = Promise.all(
        Array.from({ length: 3 }, () => ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query('acme') })),
      );
      const waiting = `select pid from pg_locks where not granted and relation = '"${namespace}_aggregation".meter_hours'::regclass`;
      await eventually(
        () => locker.query(waiting),
        (r) => r.rowCount === 3,
        10_000,
      );
      // Every place taken, then every one of their connections killed (as a Postgres restart would).
      await locker.query(`select pg_terminate_backend(pid) from (${waiting}) w`);
      expect((await replies).map((r) => (r.ok ? 'answered' : r.error.type))).toEqual(Array(3).fill('unavailable'));
    } finally {
      await locker.query('commit');
      await locker.end();
    }
    // Had the places not been given back, these would wait until the asker gave up.
    const after = await Promise.all(
      Array.from({ length: 4 }, () => ask<BillableUsageReplyV1>(billableUsageSubject, { tenant, ...query('acme') })),
    );
    expect(after.every((r) => r.ok)).toBe(true);
  }, 30_000);
});
