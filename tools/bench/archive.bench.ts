/**
 * Archive benchmark (issue 17, first slice), every figure from the same run and the same rows:
 *  1. sealing: N synthetic UsageRecorded appended through the real Postgres event store, then sealed into
 *     Parquet files on the filesystem store (events/s, files, sizes);
 *  2. Parquet read: every sealed file fetched, verified (sha256, count, range) and decoded to rows (events/s)
 *     — the raw limit for a later replay from the archive;
 *  3. Postgres read: `select * from events order by global_position`, streamed through a cursor (events/s).
 *   npm run bench:archive [-- --events 1000000 --batch 100000] [--s3]
 * `--s3`: seal into a local S3-compatible server (s3rver, started here on a free port) instead of the filesystem.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UsageRecordedV1 } from '@tally/contracts/usage';
import {
  ArchiveManifest,
  FilesystemObjectStore,
  ObjectStore,
  readSegment,
  S3ObjectStore,
  sealRange,
} from '@tally/shared/data-access-archive';
import { PostgresEventStore, StreamAppend } from '@tally/shared/data-access-event-store';
import { openPool, withClient } from '@tally/shared/data-access-pg-client';
import { freePort, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, reportResult, runBenchmark } from './bench-support';

const events = numberArg('events', 1_000_000);
const batchSize = numberArg('batch', 100_000);
const namespace = uniqueName('bencharch');
const ledgerSchema = `${namespace}_ledger`;
const tenants = ['t0', 't1', 't2', 't3'];

const recorded = (i: number): UsageRecordedV1 => {
  const tenant = tenants[i % tenants.length];
  return {
    tenant,
    usageId: randomUUID(),
    source: '//bench',
    eventId: `e${i}`,
    eventType: 'fn.invocation',
    subject: `inst-${i % 100}`,
    time: new Date(Date.UTC(2026, 10, 1) + (i % 86_400) * 1_000).toISOString(),
    receivedAt: new Date().toISOString(),
    data: { gbSeconds: `12345.${String(i).padStart(9, '0')}`, region: i % 2 ? 'eu' : 'us' },
    attribution: {
      status: 'attributed',
      accountId: `acct${i % 40}`,
      subscriptionId: `sub${i % 40}`,
      planId: 'payg',
      attributes: { app: `app-${i % 5}`, environment: 'production' },
    },
  };
};

/** 1,000 events per append, in 40 account streams of 25 events each (as attribution appends them). */
const appendLedger = async (ledger: PostgresEventStore) => {
  for (let from = 0; from < events; from += 1_000) {
    const streams = new Map<string, StreamAppend>();
    for (let i = from; i < Math.min(events, from + 1_000); i++) {
      const data = recorded(i);
      const attribution = data.attribution as { accountId: string };
      const stream = `usage-${data.tenant}_${attribution.accountId}.2026-11`;
      const append = streams.get(stream) ?? { stream, events: [] };
      streams.set(stream, {
        stream,
        events: [...append.events, { id: data.usageId, type: 'UsageRecorded', data: { ...data } }],
      });
    }
    await ledger.appendToStreams([...streams.values()]);
  }
};

/** The filesystem store under root, or (--s3) an s3rver of this run's own keeping its objects under root. */
const openStore = async (root: string): Promise<{ store: ObjectStore; stop: () => Promise<void> }> => {
  if (!process.argv.includes('--s3')) return { store: new FilesystemObjectStore(root), stop: async () => undefined };
  type S3rver = new (options: object) => { run(): Promise<unknown>; close(): Promise<void> };
  const S3rver = createRequire(__filename)('s3rver') as S3rver;
  const port = await freePort();
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    silent: true,
    directory: root,
    configureBuckets: [{ name: 'bench' }],
  });
  await server.run();
  const store = new S3ObjectStore({
    endpoint: `http://127.0.0.1:${port}`,
    bucket: 'bench',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  });
  return { store, stop: async () => (await store.close(), await server.close()) };
};

const rate = (n: number, ms: number) => `${Math.round(n / (ms / 1000)).toLocaleString('en-US')} events/s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

runBenchmark(namespace, async () => {
  const root = mkdtempSync(join(tmpdir(), 'tally-bench-archive-'));
  const ledger = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
  await ledger.init();
  const pool = openPool({ connectionString: testDatabaseUrl(), max: 3 });
  const manifest = new ArchiveManifest(pool, `${namespace}_archive`);
  await manifest.init();
  const { store, stop } = await openStore(root);
  console.log(`store: ${process.argv.includes('--s3') ? 's3rver (S3-compatible, local)' : 'filesystem'}`);
  try {
    let started = performance.now();
    await appendLedger(ledger);
    console.log(`appended ${events.toLocaleString('en-US')} events in ${Math.round(performance.now() - started)} ms`);
    const cutoff = (await pool.query<{ now: Date }>('select clock_timestamp() as now')).rows[0].now;

    started = performance.now();
    const report = await sealRange({ pool, ledgerSchema, manifest, store, cutoff, batchSize });
    const sealMs = performance.now() - started;
    const perSecond = (n: number, ms: number) => n / (ms / 1000);
    const sizes = report.sealed.map((e) => e.rowCount);
    console.log(
      `seal: ${report.rows.toLocaleString('en-US')} events in ${Math.round(sealMs)} ms = ${rate(report.rows, sealMs)}; ` +
        `${report.sealed.length} files, ${mib(report.bytes)} (${(report.bytes / report.rows).toFixed(1)} bytes/event), ` +
        `rows per file ${Math.min(...sizes)}–${Math.max(...sizes)}`,
    );

    started = performance.now();
    let read = 0;
    for (const entry of await manifest.list()) read += (await readSegment(store, entry)).length;
    const parquetMs = performance.now() - started;
    console.log(
      `parquet read (verified + decoded): ${read.toLocaleString('en-US')} events in ${Math.round(parquetMs)} ms = ${rate(read, parquetMs)}`,
    );

    started = performance.now();
    let streamed = 0;
    await withClient(pool, async (client) => {
      await client.query('begin');
      await client.query(`declare ledger cursor for select * from "${ledgerSchema}".events order by global_position`);
      for (;;) {
        const { rowCount } = await client.query('fetch 10000 from ledger');
        if (!rowCount) break;
        streamed += rowCount;
      }
      await client.query('commit');
    });
    const pgMs = performance.now() - started;
    console.log(
      `postgres read (cursor, 10,000 a fetch): ${streamed.toLocaleString('en-US')} events in ${Math.round(pgMs)} ms = ${rate(streamed, pgMs)}`,
    );
    // Sealing reads the ledger and writes Parquet: the plain ledger read is its raw limit.
    reportResult({
      stage: 'archive-seal',
      figure: perSecond(report.rows, sealMs),
      unit: 'events/s',
      raw: [{ what: 'Postgres ledger read (cursor)', value: perSecond(streamed, pgMs), unit: 'events/s' }],
      note: `${report.rows.toLocaleString('en-US')} events, ${report.sealed.length} files; read back at ${rate(read, parquetMs)}`,
    });
  } finally {
    await ledger.close();
    await pool.end();
    await stop();
    rmSync(root, { recursive: true, force: true });
  }
});
