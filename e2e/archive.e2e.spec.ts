import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProjectionCatalog, RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, ledgerEvents, startApp } from './support';

/**
 * Columns a rebuild would set from the wall clock rather than from the ledger, left out of the comparison. None:
 * every time in a projection table comes from an event (its time, its command's `now`, or the ledger's
 * recorded_at — which the archive keeps to the microsecond). The wall-clock columns of a rebuild (`updated_at`,
 * `rebuilt_at`, `rebuild_requested_at`, with `position` and `epoch`) are projection_checkpoints', which is not a
 * projection's table and is not compared; nor are the tables that no projection owns (credentials, API keys,
 * billing runs, reconciliations): a rebuild does not touch them.
 */
const wallClockColumns: string[] = [];

const apps4 = ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const;

/**
 * Issue 17: a rebuild from archive + hot tail equals a rebuild from the full ledger, table by table. Every app runs
 * with the archive on (TALLY_ARCHIVE=filesystem, one directory), sealing everything recorded (AFTER_DAYS=0) and
 * pruning sealed usage 2 s after it is sealed (PRUNE_MIN_AGE_SECONDS=2, the least allowed: every process's reader
 * trusts its look at the manifest for 1 s); the passes run when asked (POST /v1/admin/archive/passes).
 */
describe('the archive: rebuilds from archive + hot tail equal rebuilds from the full ledger', () => {
  const namespace = uniqueName('archive');
  const archiveDir = mkdtempSync(join(tmpdir(), 'tally-archive-e2e-'));
  const apps = {} as Record<AppName, RunningTally>;
  // 1 March 10:00: January's invoices past their grace, February's within it.
  const now = new Date('2026-03-01T10:00:00Z');
  const clock = () => now;
  let key: string;
  const sent = new Set<string>();
  let db: Client;

  const ok = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };
  const fn = (id: string, subject: string, time: string, gbSeconds: string) => ({
    specversion: '1.0',
    id,
    source: '//forge/fn',
    type: 'fn.invocation',
    subject,
    time,
    data: { gbSeconds },
  });
  const ingest = async (events: ReturnType<typeof fn>[]) => {
    const answer = await ok(http('POST', `${apps.ingestion.url}/v1/events`, events, 'application/json', key));
    for (const e of events) sent.add(`${e.source}/${e.id}`);
    return answer;
  };
  /** Every event sent is in the ledger and every projection of every app has applied all of it. */
  const settled = async () => {
    await eventually(
      () => ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']),
      (events) => events.length === sent.size,
      20_000,
    );
    for (const app of apps4)
      await eventually(
        () => http('GET', `${apps[app].url}/v1/admin/projections`),
        (r) =>
          r.body.projections.every(
            (p: { behind: number; status: string; rebuildRequested: boolean }) =>
              p.behind === 0 && p.status === 'running' && !p.rebuildRequested,
          ),
        30_000,
      );
  };
  /** Every projection that owns tables, per app (relays own none: a rebuild of one would publish again). */
  const projections = (app: AppName) =>
    apps[app].app
      .get(ProjectionCatalog)
      .all()
      .filter((runner) => runner.projection.tables.length > 0);
  const rebuildEverything = async () => {
    for (const app of apps4)
      for (const runner of projections(app))
        await ok(http('POST', `${apps[app].url}/v1/admin/projections/${runner.name}/rebuild`, {}));
    await settled();
  };
  /** Every projection table of every app: its rows as JSON, wall-clock columns left out, sorted. */
  const dump = async (): Promise<Record<string, string[]>> => {
    const tables: Record<string, string[]> = {};
    for (const app of apps4)
      for (const runner of projections(app))
        for (const table of runner.projection.tables) {
          const schema = apps[app].runtime.schemaFor(app);
          const { rows } = await db.query<{ row: string }>(
            `select (to_jsonb(t) - $1::text[])::text as row from "${schema}"."${table}" t`,
            [wallClockColumns],
          );
          tables[`${schema}.${table}`] = rows.map((r) => r.row).sort();
        }
    return tables;
  };
  const reconcile = async (period: string) => {
    const started = await ok(http('POST', `${apps.invoicing.url}/v1/reconciliations`, { period }));
    return (
      await eventually(
        () => http('GET', `${apps.invoicing.url}/v1/reconciliations/${started.id}`),
        (r) => r.body.status !== 'running',
        20_000,
      )
    ).body;
  };
  /** What a reconciliation found, without what differs between two runs of it (its id and times). */
  const findings = ({
    id: _id,
    startedAt: _s,
    completedAt: _c,
    durationMs: _d,
    ledgerPosition: _p,
    ...rest
  }: Record<string, unknown>) => rest;
  /** A meter's value for an account over the first quarter (a JSON number: compared as given, not added to). */
  const meter = async (slug: string, accountId: string) =>
    (
      await ok(
        http(
          'GET',
          `${apps.aggregation.url}/api/v1/meters/${slug}/query?from=2026-01-01T00:00:00Z&to=2026-04-01T00:00:00Z&accountId=${accountId}`,
        ),
      )
    ).data[0]?.value;
  const gbSeconds = (accountId: string) => meter('fn-gbs', accountId);
  const calls = (accountId: string) => meter('fn-calls', accountId);
  const ledgerSchema = () => `${namespace}_ledger`;

  beforeAll(async () => {
    const env = {
      TALLY_BILLING_INTERVAL_MS: '3600000',
      TALLY_ARCHIVE: 'filesystem',
      TALLY_ARCHIVE_DIR: archiveDir,
      TALLY_ARCHIVE_AFTER_DAYS: '0',
      TALLY_ARCHIVE_PRUNE: 'on',
      // The least allowed: files are pruned 2 s after they are sealed, once every process's reader has seen the seal.
      TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS: '2',
    };
    for (const app of apps4) apps[app] = await startApp(app, namespace, env, clock);
    db = new Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    const [agg, inv, att] = [apps.aggregation.url, apps.invoicing.url, apps.attribution.url];
    await ok(
      http('POST', `${agg}/api/v1/meters`, {
        slug: 'fn-gbs',
        eventType: 'fn.invocation',
        aggregation: 'SUM',
        valueProperty: '$.gbSeconds',
      }),
    );
    await ok(
      http('POST', `${agg}/api/v1/meters`, { slug: 'fn-calls', eventType: 'fn.invocation', aggregation: 'COUNT' }),
    );
    await ok(
      http('POST', `${inv}/v1/plans`, {
        id: 'forge-std',
        name: 'Forge standard',
        currency: 'USD',
        charges: [{ meter: 'fn-gbs', model: 'unit', per: 'app', allowance: '10', unitPrice: '0.000025' }],
      }),
    );
    for (const id of ['acme', 'globex']) {
      await ok(http('POST', `${att}/v1/accounts`, { id, name: id, currency: 'USD', timezone: 'UTC' }));
      await ok(
        http('POST', `${att}/v1/subscriptions`, {
          id: `sub-${id}`,
          accountId: id,
          planId: 'forge-std',
          startsAt: '2026-01-01T00:00:00Z',
        }),
      );
    }
    const assign = (subject: string, accountId: string) =>
      ok(
        http('PUT', `${att}/v1/subjects/${subject}`, {
          accountId,
          attributes: { app: `${subject}-app` },
          effectiveFrom: '2026-01-01T00:00:00Z',
        }),
      );
    await assign('a1', 'acme');
    await assign('g1', 'globex');
    await assign('moved', 'acme');
    key = await createProducerKey(apps.ingestion.url);
  });

  afterAll(async () => {
    await db?.end();
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
    rmSync(archiveDir, { recursive: true, force: true });
  });

  it('rebuilds every projection of every app from archive + hot tail to the same rows, and counts nothing twice after the prune', async () => {
    // February's usage, exact decimals (a float would lose them), one of it voided, one subject's moved, one parked.
    await ingest([
      fn('a1-1', 'a1', '2026-02-03T10:00:00Z', '12345678901234567890.123456789012345678'),
      fn('a1-2', 'a1', '2026-02-04T10:00:00Z', '0.000000000000000000000000000001'),
      fn('a1-void', 'a1', '2026-02-05T10:00:00Z', '1000'),
      fn('g1-1', 'g1', '2026-02-06T10:00:00Z', '7.5'),
      fn('moved-1', 'moved', '2026-02-10T10:00:00Z', '3.25'),
      fn('moved-2', 'moved', '2026-02-20T10:00:00Z', '4.75'),
      fn('nobody-1', 'nobody', '2026-02-21T10:00:00Z', '99'),
    ]);
    await settled();
    await ok(
      http(
        'POST',
        `${apps.ingestion.url}/v1/events/corrections`,
        { action: 'void', source: '//forge/fn', id: 'a1-void', reason: 'double-metered' },
        'application/json',
        key,
      ),
    );
    // "moved" was globex's from 15 February, not acme's: moved-2 follows (a UsageReattributed).
    await ok(
      http('POST', `${apps.attribution.url}/v1/subjects/moved/corrections`, {
        accountId: 'globex',
        effectiveFrom: '2026-02-15T00:00:00Z',
        reason: 'registered under acme by mistake',
      }),
    );
    await eventually(
      () => gbSeconds('globex'),
      (value) => value === 12.25, // 7.5 + 4.75
      20_000,
    );
    const parked = await ok(http('GET', `${apps.attribution.url}/v1/parked-usage`));
    expect(parked.items.map((i: { eventId: string }) => i.eventId)).toEqual(['nobody-1']);
    // 1 March 10:00: January finalizes (its grace is over), February is drafted (still in its 24 h of grace).
    await settled();
    const run = await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
    expect(run).toMatchObject({ drafted: 4, finalized: 2, failed: 0 });
    await settled();
    const february = await reconcile('2026-02');
    expect(february).toMatchObject({ status: 'completed', drifts: [] });
    // The hot tail: March's usage so far, recorded after February's.
    await ingest([
      fn('a1-march', 'a1', '2026-03-01T09:00:00Z', '0.5'),
      fn('g1-march', 'g1', '2026-03-01T09:30:00Z', '1.5'),
    ]);
    await settled();
    const acmeBefore = await gbSeconds('acme');
    const globexBefore = await gbSeconds('globex');
    // a1-1, a1-2, moved-1 (a1-void voided) and a1-march
    expect(await calls('acme')).toBe(4);

    // A: every projection rebuilt from the full ledger.
    await rebuildEverything();
    const fromFullLedger = await dump();
    expect(Object.keys(fromFullLedger).length).toBeGreaterThanOrEqual(10);
    expect(fromFullLedger[`${namespace}_aggregation.usage_facts`].length).toBe(9);
    expect(fromFullLedger[`${namespace}_aggregation.usage_facts`].join()).toContain(
      '12345678901234567890.123456789012345678',
    );

    // A pass: everything recorded is sealed; nothing is pruned yet (sealed less than 2 s ago).
    const sealing = await ok(http('POST', `${apps.attribution.url}/v1/admin/archive/passes`));
    expect(sealing).toMatchObject({ trigger: 'manual', pruning: true, prunedRows: 0, error: null });
    expect(sealing.sealedRows).toBeGreaterThan(0);
    // Passes until the files are old enough: the usage streams' rows leave the hot ledger.
    const pass = await eventually(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 250));
        return ok(http('POST', `${apps.attribution.url}/v1/admin/archive/passes`));
      },
      (report) => report.prunedRows > 0,
      10_000,
    );
    expect(pass).toMatchObject({ sealedRows: 0, error: null });
    expect(pass.prunedRows).toBeGreaterThanOrEqual(8); // 8 UsageRecorded at least (and the corrections' events)
    const status = await ok(http('GET', `${apps.attribution.url}/v1/admin/archive`));
    expect(status).toMatchObject({ store: 'filesystem', prune: true, afterDays: 0, lastPass: pass });
    expect(status.prunedFiles).toBeGreaterThan(0);
    expect(status.prunedRows).toBe(pass.prunedRows);
    const sealedThrough = BigInt(status.sealedThrough);
    const hotUsage = await db.query(
      `select count(*)::int as n from "${ledgerSchema()}".events where global_position <= $1 and stream_name like 'usage-%'`,
      [sealedThrough.toString()],
    );
    expect(hotUsage.rows[0].n).toBe(0);
    // Other streams stay in the hot ledger too (pruning is usage's only): readStream still finds them.
    const others = await db.query(
      `select count(*)::int as n from "${ledgerSchema()}".events where stream_name not like 'usage-%'`,
    );
    expect(others.rows[0].n).toBeGreaterThan(0);

    // B: every projection rebuilt again, now from archive + hot tail. Equal to A, table by table.
    await rebuildEverything();
    const fromArchiveAndTail = await dump();
    expect(Object.keys(fromArchiveAndTail)).toEqual(Object.keys(fromFullLedger));
    for (const table of Object.keys(fromFullLedger))
      expect(fromArchiveAndTail[table], table).toEqual(fromFullLedger[table]);

    // After the prune: new usage counts, the pruned usage still counts once, and February reconciles the same.
    expect(await gbSeconds('acme')).toBe(acmeBefore);
    expect(await calls('acme')).toBe(4);
    await ingest([fn('a1-after', 'a1', '2026-03-01T09:45:00Z', '2')]);
    await eventually(
      () => calls('acme'),
      (value) => value === 5,
      20_000,
    );
    await settled();
    expect(await calls('acme')).toBe(5);
    expect(await gbSeconds('globex')).toBe(globexBefore);
    expect(findings(await reconcile('2026-02'))).toEqual(findings(february));
    expect((await reconcile('2026-03')).drifts).toEqual([]);
  }, 180_000);

  it('stores a pruned usage event once: sent again through intake, or appended again past it to the ledger', async () => {
    const usage = await ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']);
    const pruned = usage.find((e) => (e.data as { eventId?: string }).eventId === 'g1-1');
    if (!pruned) throw new Error('g1-1 is not in the ledger');
    const hot = await db.query(`select 1 from "${ledgerSchema()}".events where event_id = $1`, [pruned.id]);
    expect(hot.rowCount).toBe(0); // pruned: the archive holds its only copy
    const globex = { gbSeconds: await gbSeconds('globex'), calls: await calls('globex') };

    // Through intake: intake's lookup of earlier copies is best effort (it answers `duplicate` when it finds the
    // first copy in its status table, `accepted` otherwise); either way the event reaches the ledger writer, whose
    // append must find the pruned id stored.
    const again = await ingest([fn('g1-1', 'g1', '2026-02-06T10:00:00Z', '7.5')]);
    expect(again.accepted + again.duplicate).toBe(1);
    // Past intake, as the ledger writer appends it (same event id, same stream): the ledger knows the id.
    const appended = await apps.attribution.runtime.eventStore.appendToStreams([
      {
        stream: pruned.streamName,
        events: [{ id: pruned.id, type: pruned.type, data: pruned.data, metadata: pruned.metadata }],
      },
    ]);
    expect(appended[0].written).toBe(0);
    // The writer has handled the re-sent copy once its consumer has nothing pending.
    await eventually(
      () => apps.attribution.runtime.bus.consumerPending(),
      (consumers) => consumers.length > 0 && consumers.every((c) => c.pending === 0),
      20_000,
    );
    await settled();
    expect((await ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded'])).length).toBe(usage.length);
    expect({ gbSeconds: await gbSeconds('globex'), calls: await calls('globex') }).toEqual(globex);
  }, 60_000);

  it('answers 409 to a pass asked for while another process holds the pass', async () => {
    const other = new Client({ connectionString: testDatabaseUrl() });
    await other.connect();
    try {
      // What a pass in another attribution process holds for its duration.
      await other.query('select pg_advisory_lock(hashtext($1))', [`${ledgerSchema()}.archive-pass`]);
      const busy = await http('POST', `${apps.attribution.url}/v1/admin/archive/passes`);
      expect([busy.status, busy.body.type]).toEqual([409, 'https://tally.dev/problems/archive-pass-busy']);
    } finally {
      await other.end();
    }
    expect((await http('POST', `${apps.attribution.url}/v1/admin/archive/passes`)).status).toBe(200);
  });
});
