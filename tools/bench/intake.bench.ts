/**
 * Intake benchmark: sustained HTTP intake of 1,000-event batches into a real ingestion process,
 * beside raw JetStream publish throughput measured in the same run on the same machine.
 *   npm run bench:intake [-- --seconds 20 --concurrency 8 --processes 1 --profile]
 * Prints events/s accepted and persisted, p50/p99 request latency, the ratio to the raw rate, and each process's
 * share of the cores during the run (what bounds it); `--profile`: ingestion under `node --cpu-prof`, its
 * .cpuprofile written to a directory the run names; `--processes N`: N ingestion processes (intake is stateless:
 * production scales it out behind a load balancer), the clients spread over them.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, percentile, reportResult, runBenchmark } from './bench-support';
import { rawPublishRate } from './raw-publish';
import { CpuShares } from './freshness/cpu-shares';

const seconds = numberArg('seconds', 20);
const concurrency = numberArg('concurrency', 8);
const processes = numberArg('processes', 1);
const batchSize = 1_000;
const namespace = uniqueName('bench');
const root = resolve(__dirname, '..', '..');
const adminToken = `bench-admin-${namespace}-0123456789`;
const profileDir = process.argv.includes('--profile')
  ? mkdtempSync(join(tmpdir(), 'tally-intake-profile-'))
  : undefined;

const body = (request: number) => {
  const time = new Date().toISOString();
  const events = [];
  for (let i = 0; i < batchSize; i++) {
    events.push(
      `{"specversion":"1.0","id":"r${request}-e${i}","source":"//bench/fn-runtime","type":"fn.invocation","subject":"inst-${i % 100}","time":"${time}","data":{"gbSeconds":"0.${i % 10}25","region":"eu-1"}}`,
    );
  }
  return `[${events.join(',')}]`;
};

const startIngestion = async (port: number): Promise<ChildProcess> => {
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...profile, 'tools/run-ts.cjs', 'apps/ingestion/src/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      TALLY_NAMESPACE: namespace,
      PORT: String(port),
      TALLY_INTAKE_MAX_IN_FLIGHT_EVENTS: '100000',
      TALLY_ADMIN_TOKEN: adminToken,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolveStarted, reject) => {
    child.stdout?.on('data', (chunk) => String(chunk).includes('listening') && resolveStarted());
    child.once('exit', (code) => reject(new Error(`ingestion exited with ${code}`)));
  });
  return child;
};

/** SIGTERM (a profile is written as it exits), SIGKILL after 15 s; at once if it has already gone. */
const stopIngestion = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
};

const persistedEvents = async (): Promise<number> => {
  const nc = await connect({ servers: testNatsUrl() });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const stream = `${namespace.toUpperCase()}_INGESTION`;
  const info = await jsm.streams.info(stream);
  // Count events inside the batch messages (each message holds up to 1,000).
  let events = 0;
  const consumer = await js.consumers.get(stream);
  const messages = await consumer.consume();
  let seen = 0;
  for await (const message of messages) {
    events += (message.json() as { events: unknown[] }).events.length;
    if (++seen >= info.state.messages) break;
  }
  messages.stop();
  await nc.close();
  return events;
};

const main = async () => {
  console.log(
    `intake benchmark: ${seconds}s, ${concurrency} concurrent requests of ${batchSize} events, ${processes} ingestion process(es), namespace ${namespace}`,
  );
  const raw = await rawPublishRate(namespace);
  console.log(
    `raw JetStream async publish (one client, small messages): ${Math.round(raw).toLocaleString('en')} msgs/s`,
  );

  const firstPort = 20_000 + Math.floor(Math.random() * 20_000);
  const ports = Array.from({ length: processes }, (_, i) => firstPort + i);
  // One after another: the first declares the streams and runs the migrations the others then find done.
  const ingestions: ChildProcess[] = [];
  try {
    for (const port of ports) ingestions.push(await startIngestion(port));
  } catch (error) {
    await Promise.all(ingestions.map(stopIngestion));
    throw error;
  }
  const urls = ports.map((port) => `http://127.0.0.1:${port}/v1/events`);
  const created = await fetch(`http://127.0.0.1:${ports[0]}/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ name: 'benchmark', allowedSources: ['//bench/*'] }),
  });
  const { key } = (await created.json()) as { key: string };
  const latencies: number[] = [];
  let accepted = 0;
  let failed = 0;
  let request = 0;
  const cpu = new CpuShares(
    () =>
      Object.fromEntries(
        ingestions.map((child, i) => [processes === 1 ? 'ingestion' : `ingestion-${i}`, child.pid as number]),
      ),
    'bench (load)',
  );
  cpu.start();
  const deadline = performance.now() + seconds * 1_000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      const url = urls[client % urls.length];
      while (performance.now() < deadline) {
        const payload = body(request++);
        const t0 = performance.now();
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json', authorization: `Bearer ${key}` },
          body: payload,
        });
        const result = (await response.json()) as { accepted?: number };
        latencies.push(performance.now() - t0);
        if (response.status === 200) accepted += result.accepted ?? 0;
        else failed++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1_000;
  const shares = cpu.stop();
  // Profiles, when asked for, are written as the processes exit.
  await Promise.all(ingestions.map(stopIngestion));
  const persisted = await persistedEvents();
  latencies.sort((a, b) => a - b);
  const rate = accepted / elapsed;
  console.log(
    `accepted: ${accepted.toLocaleString('en')} events in ${elapsed.toFixed(1)}s = ${Math.round(rate).toLocaleString('en')} events/s (${failed} failed requests)`,
  );
  console.log(
    `persisted in JetStream: ${persisted.toLocaleString('en')} events (${persisted === accepted ? 'all accepted events' : 'MISMATCH'})`,
  );
  console.log(
    `request latency: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`,
  );
  console.log(`ratio to raw single-message publish rate: ${(rate / raw).toFixed(2)}×`);
  console.log(
    'CPU during the run, % of one core (2 cores: 200 %; postgres and nats-server are the machine’s, shared):',
  );
  for (const share of shares.sort((a, b) => b.percent - a.percent))
    console.log(`  ${share.name.padEnd(16)} ${Math.round(share.percent)} %`);
  if (profileDir) console.log(`ingestion's CPU profile${processes > 1 ? 's' : ''}: ${profileDir}`);
  reportResult({
    stage: 'intake',
    figure: rate,
    unit: 'events/s',
    raw: [{ what: 'JetStream async publish, one message per event', value: raw, unit: 'msgs/s' }],
    note: `${seconds} s, ${concurrency} × 1,000-event batches${processes > 1 ? `, ${processes} ingestion processes` : ''}; p99 ${percentile(latencies, 99).toFixed(1)} ms; ${persisted === accepted ? 'all persisted' : 'persisted MISMATCH'}`,
  });
};

runBenchmark(namespace, main);
