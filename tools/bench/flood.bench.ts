/**
 * Flood benchmark: a legitimate producer's latency while others flood intake with 5 MB bodies — without a
 * credential, and with a valid key but a body that is not JSON — beside the same producer's latency with no
 * flood, measured in the same run (the raw limit). Also the ingestion process's peak memory.
 *   npm run bench:flood [-- --seconds 10 --flooders 12]
 */
import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, percentile, reportResult, runBenchmark } from './bench-support';

const seconds = numberArg('seconds', 10);
const flooders = numberArg('flooders', 12);
const namespace = uniqueName('benchflood');
const root = resolve(__dirname, '..', '..');
const adminToken = `bench-admin-${namespace}-0123456789`;
const port = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;

/** Peak resident memory of a process (Linux: VmHWM), in MB. */
const peakRssMb = (pid: number): number =>
  Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** The legitimate producer: one 100-event request after another for the given time; their latencies. */
const produce = async (key: string, ms: number, tag: string): Promise<number[]> => {
  const latencies: number[] = [];
  const until = Date.now() + ms;
  for (let n = 0; Date.now() < until; n++) {
    const body = JSON.stringify(
      Array.from({ length: 100 }, (_, i) => ({
        specversion: '1.0',
        id: `${tag}-${n}-${i}`,
        source: '//bench/legit',
        type: 'fn.invocation',
        subject: 'inst-1',
        data: { gbSeconds: '0.5' },
      })),
    );
    const started = performance.now();
    const response = await fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });
    await response.text();
    if (response.status !== 200) throw new Error(`legitimate request answered ${response.status}`);
    latencies.push(performance.now() - started);
  }
  return latencies.sort((a, b) => a - b);
};

/**
 * The flooders run in a worker thread of their own, so that the legitimate producer's event loop is not
 * theirs. Plain JavaScript: the worker does not go through the TypeScript loader of this process.
 */
const floodWorker = `
  const { parentPort, workerData: { authorization, ms, base, flooders } } = require('node:worker_threads');
  const { request } = require('node:http');
  const body = Buffer.alloc(5 * 1024 * 1024, 'x');
  const post = () => new Promise((done) => {
    const req = request(base + '/v1/events', { method: 'POST', headers: Object.assign({ 'content-type': 'application/json', 'content-length': body.length }, authorization ? { authorization } : {}) }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode || 0));
    });
    req.on('error', () => done(0));
    req.end(body);
  });
  const statuses = new Map();
  const until = Date.now() + ms;
  Promise.all(Array.from({ length: flooders }, async () => {
    while (Date.now() < until) { const s = await post(); statuses.set(s, (statuses.get(s) || 0) + 1); }
  })).then(() => parentPort.postMessage([...statuses].map(([s, n]) => s + '×' + n).join(', ')));
`;

const floodWhile = (authorization: string | undefined, ms: number): Promise<string> =>
  new Promise((done, fail) => {
    const worker = new Worker(floodWorker, { eval: true, workerData: { authorization, ms, base, flooders } });
    worker.once('message', (summary: string) => {
      done(summary);
      void worker.terminate();
    });
    worker.once('error', fail);
  });

const describe = (label: string, latencies: number[]) =>
  `${label}: ${latencies.length} requests, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms`;

runBenchmark(namespace, async () => {
  const child: ChildProcess = spawn(process.execPath, ['tools/run-ts.cjs', 'apps/ingestion/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      TALLY_NAMESPACE: namespace,
      PORT: String(port),
      TALLY_ADMIN_TOKEN: adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    await new Promise<void>((ready, fail) => {
      let seen = '';
      child.stdout?.on('data', (chunk) => (seen += chunk) && seen.includes('listening') && ready());
      child.once('exit', (code) => fail(new Error(`ingestion exited with ${code}: ${seen}`)));
    });
    const created = await fetch(`${base}/v1/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ name: 'legit', allowedSources: ['*'] }),
    });
    const { key } = (await created.json()) as { key: string };
    const flooderKey = (
      (await (
        await fetch(`${base}/v1/api-keys`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
          body: JSON.stringify({ name: 'flooder', allowedSources: ['*'] }),
        })
      ).json()) as { key: string }
    ).key;
    console.log(
      `flood benchmark: ${seconds} s each, ${flooders} flooders of 5 MB bodies, a legitimate producer of 100-event requests; namespace ${namespace}`,
    );
    await produce(key, 2_000, 'warm');
    const quiet = await produce(key, seconds * 1_000, 'quiet');
    console.log(
      `${describe('no flood (the raw limit of this run)', quiet)}; ingestion peak RSS ${peakRssMb(child.pid as number).toFixed(0)} MB`,
    );
    // The producer's own p99 with no flood is what the flooded ones are compared with.
    const quietP99 = [{ what: 'the same producer, no flood, p99', value: percentile(quiet, 99), unit: 'ms' }];
    const [unauthenticated, floodedAnon] = await Promise.all([
      produce(key, seconds * 1_000, 'anon'),
      floodWhile(undefined, seconds * 1_000),
    ]);
    console.log(
      `${describe('flood without a credential', unauthenticated)}; flood answers ${floodedAnon}; ingestion peak RSS ${peakRssMb(child.pid as number).toFixed(0)} MB`,
    );
    reportResult({
      stage: 'flood-anonymous',
      figure: percentile(unauthenticated, 99),
      unit: 'ms',
      raw: quietP99,
      note: `${seconds} s, ${flooders} flooders of 5 MB bodies`,
    });
    const [authenticated, floodedKey] = await Promise.all([
      produce(key, seconds * 1_000, 'keyed'),
      floodWhile(`Bearer ${flooderKey}`, seconds * 1_000),
    ]);
    console.log(
      `${describe('flood with a valid key, bodies not JSON', authenticated)}; flood answers ${floodedKey}; ingestion peak RSS ${peakRssMb(child.pid as number).toFixed(0)} MB`,
    );
    reportResult({
      stage: 'flood-keyed',
      figure: percentile(authenticated, 99),
      unit: 'ms',
      raw: quietP99,
      note: `${seconds} s, ${flooders} flooders; ingestion peak RSS ${peakRssMb(child.pid as number).toFixed(0)} MB`,
    });
  } finally {
    child.kill('SIGKILL');
  }
});
