/**
 * Replay from the archive (issue 17), every figure from the same run over the same ledger:
 *  1. a ledger of N attributed UsageRecorded (40 accounts, one live meter), generated in SQL, then vacuumed;
 *  2. sealed into Parquet files (filesystem store); the raw limit: every file fetched, verified and decoded;
 *  3. the apps build their projections from the full hot ledger; every table of every app schema is
 *     fingerprinted (row count and an order-free sum of row hashes, table by table);
 *  4. `aggregation_usage_rollup` rebuilt from the full hot ledger (the rebuild path: copies, swap), timed;
 *  5. the sealed usage rows pruned from the hot ledger; every projection rebuilt from archive + hot tail, one
 *     after another, timed, and every table fingerprinted again: they must equal step 3's, table by table.
 *   npm run bench:archive-replay [-- --events 1000000 --batch 10000] [--apps all] [--skip-hot-rebuild] [--cpu-profile <file>]
 * `--apps all`: all four apps in this process (default: aggregation alone, whose rollups are the heaviest replay).
 * `--skip-hot-rebuild`: no step 4 (the live build of step 3 is the reference either way).
 * `--cpu-profile`: a V8 CPU profile of this process (the app's side) during the rebuild from the hot ledger.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { IngestionModule } from '@tally/ingestion/feature-intake';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import {
  ArchiveManifest,
  FilesystemObjectStore,
  pruneSealed,
  readSegment,
  sealRange,
} from '@tally/shared/data-access-archive';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { openPool } from '@tally/shared/data-access-pg-client';
import { RunningTally, startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, reportResult, runBenchmark } from './bench-support';

const events = numberArg('events', 1_000_000);
const rebuildBatch = numberArg('batch', 10_000);
const namespace = uniqueName('benchreplay');
const ledgerSchema = `${namespace}_ledger`;
const rollup = 'aggregation_usage_rollup';
const allApps = process.argv.includes('--apps') && process.argv[process.argv.indexOf('--apps') + 1] === 'all';
const apps = allApps ? (['ingestion', 'attribution', 'aggregation', 'invoicing'] as const) : (['aggregation'] as const);
const appSchemas = apps.map((app) => `${namespace}_${app}`);
const admin = `bench-admin-${namespace}-0123456789`;

const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');

/** N UsageRecorded in 40 account streams (revision = i / 40), exact decimals, spread over November 2026. */
const generateLedger = async (client: Client) => {
  const ledger = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
  await ledger.init();
  await ledger.appendToStreams([
    ...Array.from({ length: 40 }, (_, a) => ({
      stream: `account-default_acct${a}`,
      events: [
        {
          id: randomUUID(),
          type: 'AccountOpened',
          data: {
            tenant: 'default',
            accountId: `acct${a}`,
            name: `Account ${a}`,
            currency: 'USD',
            timezone: a % 2 ? 'Europe/Berlin' : 'UTC',
            openedAt: '2026-10-01T00:00:00.000Z',
          },
        },
      ],
    })),
    // The registry agrees with the usage's attribution (subject inst-s belongs to acct(s % 40), attributes as
    // recorded), so attribution finds nothing to correct while it builds.
    ...Array.from({ length: 40 }, (_, a) => ({
      stream: `account-default_acct${a}`,
      events: [
        {
          id: randomUUID(),
          type: 'SubscriptionStarted',
          data: {
            tenant: 'default',
            accountId: `acct${a}`,
            subscriptionId: `sub${a}`,
            planId: 'payg',
            startsAt: '2026-10-01T00:00:00.000Z',
            endsAt: null,
            at: '2026-10-01T00:00:00.000Z',
          },
        },
      ],
    })),
    ...Array.from({ length: 40 }, (_, a) => ({
      stream: `subscription-default_sub${a}`,
      events: [
        {
          id: randomUUID(),
          type: 'SubscriptionIdClaimed',
          data: { tenant: 'default', subscriptionId: `sub${a}`, accountId: `acct${a}` },
        },
      ],
    })),
    ...Array.from({ length: 1_000 }, (_, s) => ({
      stream: `subject-default_inst-${s}`,
      events: [
        {
          id: randomUUID(),
          type: 'SubjectAssigned',
          data: {
            tenant: 'default',
            subject: `inst-${s}`,
            accountId: `acct${s % 40}`,
            effectiveFrom: '2026-10-01T00:00:00.000Z',
            attributes: { app: `app-${s % 5}`, environment: 'production' },
            assignedAt: '2026-10-01T00:00:00.000Z',
          },
        },
      ],
    })),
    {
      stream: 'meter-default_gb',
      events: [
        {
          id: randomUUID(),
          type: 'MeterCreated',
          data: {
            tenant: 'default',
            slug: 'gb',
            name: 'gb',
            description: null,
            eventType: 'fn.invocation',
            aggregation: 'SUM',
            valueProperty: '$.gbSeconds',
            groupBy: { region: '$.region' },
            createdAt: '2026-10-01T00:00:00.000Z',
          },
        },
      ],
    },
  ]);
  await ledger.close();
  for (let from = 0; from < events; from += 1_000_000) {
    await client.query(
      `insert into "${ledgerSchema}".events (stream_name, stream_revision, event_id, event_type, data)
       select 'usage-default_acct' || (i % 40) || '.2026-11', i / 40, u, 'UsageRecorded',
              jsonb_build_object('tenant', 'default', 'usageId', u, 'source', '//bench', 'eventId', 'e' || i,
                'eventType', 'fn.invocation', 'subject', 'inst-' || (i % 1000),
                'time', to_char((timestamptz '2026-11-01 00:00Z' + (i % 2592000) * interval '1 second') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"'),
                'receivedAt', '2026-11-30T00:00:00.000Z',
                'data', jsonb_build_object('gbSeconds', (12345 + i % 1000)::text || '.' || lpad((i % 1000000007)::text, 12, '0'),
                                           'region', case when i % 2 = 0 then 'eu' else 'us' end),
                'attribution', jsonb_build_object('status', 'attributed', 'accountId', 'acct' || (i % 40),
                  'subscriptionId', 'sub' || (i % 40), 'planId', 'payg',
                  'attributes', jsonb_build_object('app', 'app-' || (i % 5), 'environment', 'production')))
         from (select i, gen_random_uuid() as u from generate_series($1::bigint, $2::bigint) as i) g`,
      [from, Math.min(events, from + 1_000_000) - 1],
    );
  }
  // A ledger written over weeks has been vacuumed by autovacuum long before it is this long: its visibility map
  // set, so a projection's "how far behind" count is an index-only scan. One insert of millions of rows has not.
  await client.query(`vacuum (analyze) "${ledgerSchema}".events`);
};

/** Per table of the app's schema: rows and an order-free sum of their hashes (row text, md5). */
const fingerprint = async (client: Client): Promise<Record<string, string>> => {
  const { rows: tables } = await client.query<{ table_schema: string; table_name: string }>(
    `select table_schema, table_name from information_schema.tables where table_schema = any($1) and table_type = 'BASE TABLE'
        and table_name not in ('projection_checkpoints', 'migrations') order by 1, 2`,
    [appSchemas],
  );
  const prints: Record<string, string> = {};
  for (const { table_schema, table_name } of tables) {
    // A numeric's scale depends on how its sum was split into batches (1.50 + 1.50 = 3.00, one batch of 3.0):
    // equal values, and every query answers trim_scale()'s one text, so the fingerprint compares values.
    const { rows: columns } = await client.query<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`,
      [table_schema, table_name],
    );
    const row = columns
      .map((c) => (c.data_type === 'numeric' ? `trim_scale("${c.column_name}")` : `"${c.column_name}"`))
      .join(', ');
    const { rows } = await client.query<{ n: string; h: string }>(
      `select count(*)::text as n, coalesce(sum(('x' || substr(md5(row(${row})::text), 1, 15))::bit(60)::bigint), 0)::text as h
         from "${table_schema}"."${table_name}" t`,
    );
    prints[`${table_schema.slice(namespace.length + 1)}.${table_name}`] = `${rows[0].n} rows, hash ${rows[0].h}`;
  }
  return prints;
};

const startApps = (archiveDir?: string) =>
  startTally({
    modules: allApps
      ? [
          IngestionModule.register(),
          AttributionModule.register(),
          AggregationModule.register(),
          InvoicingModule.register(),
        ]
      : [AggregationModule.register()],
    apps: [...apps],
    required: ['DATABASE_URL'],
    env: {
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      TALLY_NAMESPACE: namespace,
      PORT: '0',
      TALLY_ADMIN_TOKEN: admin,
      TALLY_PROJECTION_REBUILD_BATCH: String(rebuildBatch),
      // No billing run during the benchmark: it would append invoices while the tables are compared.
      TALLY_BILLING_INTERVAL_MS: '86400000',
      ...(archiveDir
        ? { TALLY_ARCHIVE: 'filesystem', TALLY_ARCHIVE_DIR: archiveDir, TALLY_ARCHIVE_INTERVAL_SECONDS: '86400' }
        : { TALLY_ARCHIVE: 'off' }),
    },
    log: () => undefined,
  });

interface ProjectionView {
  name: string;
  behind: number;
  position: string | null;
  rebuildRequested: boolean;
}

const projections = async (app: RunningTally): Promise<ProjectionView[]> => {
  const response = await fetch(`${app.url}/v1/admin/projections`, { headers: { authorization: `Bearer ${admin}` } });
  if (!response.ok) throw new Error(`projections: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { projections: ProjectionView[] }).projections;
};

/** Waits until every projection has reached the ledger's head, printing every minute the ones still behind. */
const caughtUp = async (app: RunningTally): Promise<void> => {
  const started = performance.now();
  let reported = started;
  for (;;) {
    const views = await projections(app).catch(() => undefined);
    // Every minute, where each projection is: a slow one shows which (the live build is all of them at once).
    if (views && performance.now() - reported > 60_000) {
      reported = performance.now();
      const behind = views.filter((p) => p.behind > 0).map((p) => `${p.name} at ${p.position ?? 0}`);
      console.log(
        `  after ${fmt(Math.round((reported - started) / 1000))} s, still behind: ${behind.join(', ') || 'none'}`,
      );
    }
    // A relay with nothing to relay keeps no position; the rollups must have one (the usage is there).
    if (views && views.every((p) => p.behind === 0) && views.some((p) => p.name === rollup && p.position !== null))
      return;
    // Not more often: each look counts up to 10,000 events of every projection's backlog. Every 0.5 s, on the
    // unvacuumed 10M ledger, those counts (≈ 3 s each) were all of Postgres's busy backends and the build stalled.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
  }
};

/** Asks the app for a rebuild and waits until the rebuilt tables are live: the time it took. */
const timedRebuild = async (app: RunningTally, projection: string, profile?: string): Promise<number> => {
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const started = performance.now();
  const response = await fetch(`${app.url}/v1/admin/projections/${projection}/rebuild`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}` },
  });
  if (!response.ok) throw new Error(`rebuild refused: ${response.status} ${await response.text()}`);
  for (;;) {
    const view = (await projections(app)).find((p) => p.name === projection);
    if (view && !view.rebuildRequested) break;
    // Each look counts every projection's backlog: often enough to time a rebuild of seconds, not to weigh on it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const took = performance.now() - started;
  if (session && profile) {
    const { profile: cpu } = await session.post('Profiler.stop');
    writeFileSync(profile, JSON.stringify(cpu));
    session.disconnect();
  }
  return took;
};

runBenchmark(namespace, async () => {
  const root = mkdtempSync(join(tmpdir(), 'tally-bench-replay-'));
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  const pool = openPool({ connectionString: testDatabaseUrl(), max: 3 });
  const store = new FilesystemObjectStore(root);
  const manifest = new ArchiveManifest(pool, ledgerSchema);
  try {
    console.log(`archive replay benchmark: ${fmt(events)} usage events; namespace ${namespace}`);
    let started = performance.now();
    await generateLedger(client);
    console.log(`ledger generated in SQL: ${fmt(Math.round((performance.now() - started) / 1000))} s`);
    await manifest.init();

    started = performance.now();
    const cutoff = (await pool.query<{ now: Date }>('select clock_timestamp() as now')).rows[0].now;
    const sealed = await sealRange({ pool, ledgerSchema, manifest, store, cutoff });
    const sealMs = performance.now() - started;
    console.log(
      `seal: ${fmt(sealed.rows)} events, ${sealed.sealed.length} files, ${(sealed.bytes / 2 ** 20).toFixed(1)} MiB in ${fmt(Math.round(sealMs / 1000))} s = ${fmt(rate(sealed.rows, sealMs))} events/s`,
    );
    // The hot tail: events after the seal (a meter's usage arriving now).
    const tail = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
    await tail.appendToStream('usage-default_acct0.2026-12', [
      {
        id: randomUUID(),
        type: 'UsageRecorded',
        data: {
          tenant: 'default',
          usageId: randomUUID(),
          source: '//bench',
          eventId: 'tail',
          eventType: 'fn.invocation',
          subject: 'inst-0',
          time: '2026-12-01T00:00:00.000Z',
          receivedAt: '2026-12-01T00:00:00.000Z',
          data: { gbSeconds: '0.000000000000000000001', region: 'eu' },
          attribution: {
            status: 'attributed',
            accountId: 'acct0',
            subscriptionId: 'sub0',
            planId: 'payg',
            attributes: {},
          },
        },
      },
    ]);
    await tail.close();

    started = performance.now();
    let decoded = 0;
    for (const entry of await manifest.list()) decoded += (await readSegment(store, entry)).length;
    const parquetMs = performance.now() - started;
    console.log(
      `raw limit — parquet read of the same files (fetched, verified, decoded): ${fmt(rate(decoded, parquetMs))} events/s`,
    );
    const parquetRead = [
      { what: 'Parquet read (fetched, verified, decoded)', value: rate(decoded, parquetMs), unit: 'events/s' },
    ];

    started = performance.now();
    let app = await startApps();
    await caughtUp(app);
    const total = events + 1;
    const buildMs = performance.now() - started;
    // Relays (NATS publishers, no tables) are not rebuilt: a relay's rebuild publishes the ledger again.
    const names = (await projections(app)).map((p) => p.name).filter((name) => !name.endsWith('_relay'));
    console.log(
      `live build from the hot ledger (${apps.join(', ')}; ${names.length} projections at once, batches of 1,000): ${fmt(rate(total, buildMs))} events/s (${fmt(Math.round(buildMs / 1000))} s)`,
    );
    const built = await fingerprint(client);

    let afterHot = built;
    if (!process.argv.includes('--skip-hot-rebuild')) {
      const profileAt = process.argv.indexOf('--cpu-profile');
      const hotMs = await timedRebuild(app, rollup, profileAt > 0 ? process.argv[profileAt + 1] : undefined);
      console.log(
        `${rollup} rebuilt from the full hot ledger (batches of ${fmt(rebuildBatch)}): ${fmt(rate(total, hotMs))} events/s (${fmt(Math.round(hotMs / 1000))} s)`,
      );
      // Its raw limit would be a Postgres read of the ledger (bench:archive measures one); this run measures none.
      reportResult({
        stage: 'rebuild-hot',
        figure: rate(total, hotMs),
        unit: 'events/s',
        raw: [],
        note: `${fmt(total)} events, batches of ${fmt(rebuildBatch)}`,
      });
      afterHot = await fingerprint(client);
    }
    await app.close();

    started = performance.now();
    const pruned = await pruneSealed({ pool, ledgerSchema, manifest, store, minSealedAgeMs: 0 });
    const pruneMs = performance.now() - started;
    const hotLeft = Number((await client.query(`select count(*) from "${ledgerSchema}".events`)).rows[0].count);
    console.log(
      `prune: ${fmt(pruned.rows)} rows of ${pruned.files} files in ${fmt(Math.round(pruneMs / 1000))} s = ${fmt(rate(pruned.rows, pruneMs))} rows/s; hot ledger keeps ${fmt(hotLeft)} rows`,
    );

    app = await startApps(root);
    await caughtUp(app);
    for (const name of names) {
      const ms = await timedRebuild(app, name);
      console.log(
        `${name} rebuilt from archive + hot tail (batches of ${fmt(rebuildBatch)}): ${fmt(Math.round(ms / 1000))} s` +
          (name === rollup
            ? `, ${fmt(rate(total, ms))} events/s; ratio to the parquet read ${(parquetMs / ms).toFixed(2)}`
            : ''),
      );
      if (name === rollup)
        reportResult({
          stage: 'rebuild-archive',
          figure: rate(total, ms),
          unit: 'events/s',
          raw: parquetRead,
          note: `${fmt(total)} events, batches of ${fmt(rebuildBatch)}`,
        });
    }
    const afterArchive = await fingerprint(client);
    await app.close();

    console.log('tables (live build | rebuilt from hot | rebuilt from archive + tail):');
    let same = true;
    for (const table of Object.keys(built)) {
      const equal = built[table] === afterHot[table] && built[table] === afterArchive[table];
      same &&= equal;
      console.log(
        `  ${equal ? 'same' : 'DIFFERENT'}  ${table}: ${built[table]} | ${afterHot[table]} | ${afterArchive[table]}`,
      );
    }
    if (!same) throw new Error('a rebuilt table differs from the live build');
  } finally {
    await client.end();
    await pool.end();
    await store.close?.();
    rmSync(root, { recursive: true, force: true });
  }
});
