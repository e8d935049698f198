/**
 * Usage export benchmark (issue 17), every figure from the same run and the same rows:
 *  1. N usage facts written straight into the aggregation app's usage_facts (one INSERT … SELECT over
 *     generate_series: this measures reading them out, not the projection);
 *  2. the raw limit: the same rows, in the export's order, through a server-side cursor (10,000 a fetch) —
 *     once with pg's own parsing of the columns, once as the export reads them (text, epoch microseconds);
 *  3. the export's chunks made in this process without HTTP, the V8 heap measured after a forced collection at
 *     every chunk: what the export holds — it must not grow with the export's size (no rate: the collections cost);
 *  4. GET /v1/exports/usage over HTTP from the aggregation app (started here, in this process) to curl (a process
 *     of its own), as CSV and as Parquet: rows/s, MB/s, time to the first byte, and this process's peak RSS
 *     while it streams (the export's memory: it must not grow with the export's size).
 *   npm run bench:export [-- --facts 1000000 --batch 10000]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { readExportBatches, usageExportChunks } from '@tally/aggregation/data-access-usage';
import { openPool, withClient } from '@tally/shared/data-access-pg-client';
import { startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, reportResult, runBenchmark } from './bench-support';

const facts = numberArg('facts', 1_000_000);
const batch = numberArg('batch', 10_000);
const namespace = uniqueName('benchexport');
const schema = `${namespace}_aggregation`;
const token = 'bench-admin-token-0123456789abcdef';
const from = new Date('2026-10-01T00:00:00Z');
const to = new Date('2026-11-01T00:00:00Z');

// A forced collection between chunks, so the heap measured is what is still referenced (not garbage not yet collected).
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const perSecond = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');
const mb = (bytes: number) => (bytes / 1_000_000).toFixed(1);

/** The process's resident memory, sampled every 50 ms while `work` runs: its peak, in MB. */
const peakRss = async <T>(work: () => Promise<T>): Promise<[T, number]> => {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  try {
    return [await work(), peak];
  } finally {
    clearInterval(timer);
  }
};

runBenchmark(namespace, async () => {
  const app = await startTally({
    apps: ['aggregation'],
    modules: [AggregationModule.register()],
    required: ['DATABASE_URL'],
    env: {
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      TALLY_NAMESPACE: namespace,
      PORT: '0',
      TALLY_ADMIN_TOKEN: token,
      TALLY_EXPORT_BATCH_ROWS: String(batch),
    },
    log: () => undefined,
  });
  const pool = openPool({ connectionString: testDatabaseUrl(), max: 2 });
  try {
    let started = performance.now();
    // Forge-like facts: 40 accounts, 100 subjects, a decimal with nine places, an app and environment each.
    await pool.query(
      `insert into "${schema}".usage_facts (usage_id, tenant, account_id, subject, event_type, time, last_position, data, attributes)
       select md5(g::text)::uuid, 'default', 'acct' || (g % 40), 'inst-' || (g % 100), 'fn.invocation',
              $2::timestamptz + (g % 2678400) * interval '1 second' + (g / 2678400) * interval '1 millisecond', g,
              jsonb_build_object('gbSeconds', '12345.' || lpad(g::text, 9, '0'), 'region', case when g % 2 = 0 then 'eu' else 'us' end),
              jsonb_build_object('app', 'app-' || (g % 5), 'environment', 'production')
         from generate_series(1, $1::int) g`,
      [facts, from.toISOString()],
    );
    await pool.query(`analyze "${schema}".usage_facts`);
    console.log(
      `seeded ${facts.toLocaleString('en-US')} facts in ${Math.round(performance.now() - started)} ms; batch ${batch.toLocaleString('en-US')} rows`,
    );

    started = performance.now();
    let raw = 0;
    await withClient(pool, async (client) => {
      await client.query('begin isolation level repeatable read read only');
      await client.query(
        `declare raw no scroll cursor for select * from "${schema}".usage_facts
          where tenant = 'default' and time >= $1 and time < $2 and not voided and account_id is not null
          order by time, usage_id`,
        [from.toISOString(), to.toISOString()],
      );
      for (;;) {
        const { rowCount } = await client.query(`fetch forward ${batch} from raw`);
        if (!rowCount) break;
        raw += rowCount;
      }
      await client.query('commit');
    });
    const rawMs = performance.now() - started;
    const rawRate = raw / (rawMs / 1000);
    console.log(
      `postgres cursor (select *, pg's parsing): ${raw.toLocaleString('en-US')} rows in ${Math.round(rawMs)} ms = ${perSecond(raw, rawMs)} rows/s`,
    );

    started = performance.now();
    let asExported = 0;
    for await (const rows of readExportBatches(pool, schema, { tenant: 'default', from, to }, batch))
      asExported += rows.length;
    const readMs = performance.now() - started;
    const cursors = [
      { what: "Postgres cursor, select * (pg's parsing)", value: rawRate, unit: 'rows/s' },
      { what: "Postgres cursor, the export's read", value: asExported / (readMs / 1000), unit: 'rows/s' },
    ];
    console.log(
      `postgres cursor (the export's read: text columns): ${asExported.toLocaleString('en-US')} rows in ${Math.round(readMs)} ms = ${perSecond(asExported, readMs)} rows/s`,
    );

    for (const format of ['csv', 'parquet'] as const) {
      let [bytes, chunks, heapPeak] = [0, 0, 0];
      for await (const chunk of usageExportChunks({
        pool,
        schema,
        range: { tenant: 'default', from, to },
        format,
        batchSize: batch,
      })) {
        bytes += chunk.length;
        chunks += 1;
        collect();
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
      }
      console.log(
        `export ${format.padEnd(7)} in process (no HTTP, a collection after every chunk): ${mb(bytes)} MB in ${chunks} chunks; ` +
          `heap at most ${mb(heapPeak)} MB`,
      );
    }

    for (const format of ['csv', 'parquet'] as const) {
      const rssBefore = process.memoryUsage().rss;
      // The client is curl, in a process of its own: this process's one thread is the server's alone.
      const [{ bytes, firstByteMs, ms }, peak] = await peakRss(async () => {
        const { stdout } = await promisify(execFile)('curl', [
          '-sS',
          '--fail',
          '-o',
          '/dev/null',
          '-w',
          '%{size_download} %{time_starttransfer} %{time_total}',
          '-H',
          `authorization: Bearer ${token}`,
          `${app.url}/v1/exports/usage?from=${from.toISOString()}&to=${to.toISOString()}&format=${format}`,
        ]);
        const [size, first, total] = stdout.trim().split(' ').map(Number);
        return { bytes: size, firstByteMs: first * 1000, ms: total * 1000 };
      });
      console.log(
        `export ${format.padEnd(7)} over HTTP: ${facts.toLocaleString('en-US')} rows in ${Math.round(ms)} ms = ${perSecond(facts, ms)} rows/s, ` +
          `${mb(bytes)} MB = ${mb(bytes / (ms / 1000))} MB/s, ${(bytes / facts).toFixed(1)} bytes/row; first byte after ${Math.round(firstByteMs)} ms; ` +
          `peak RSS ${mb(peak)} MB (${mb(rssBefore)} MB before)`,
      );
      reportResult({
        stage: `export-${format}`,
        figure: facts / (ms / 1000),
        unit: 'rows/s',
        raw: cursors,
        note: `${facts.toLocaleString('en-US')} rows, ${mb(bytes / (ms / 1000))} MB/s, peak RSS ${mb(peak)} MB`,
      });
    }
  } finally {
    await pool.end();
    await app.close();
  }
});
