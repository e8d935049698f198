/**
 * Freshness benchmark (issue 18): how long after intake answers 2xx a usage event is visible in a meter query,
 * while a paced load flows through the same pipeline, with each app process's memory and CPU beside it.
 *   npm run bench:freshness [-- --rate 10000 --seconds 600 --mode distributed|embedded --probes-per-second 2]
 *     [--batch 1000 --rest-seconds 45 --idle-seconds 15 --compiled --profile <app>]
 * `--compiled`: the apps built first (nx build) and run from dist/apps as production runs them; `--profile aggregation`: that process
 * under `node --cpu-prof`, its .cpuprofile kept beside the app logs.
 * Distributed: the four apps as processes of their own on the machine's Postgres and NATS (the raw JetStream
 * publish rate is measured first, for the summary table); embedded: the one process of `npm start`, its bus in
 * Postgres. Prints the achieved load rate, probe latency p50/p99/max (idle, then under load) and RSS per process:
 * at rest (set up, then `--rest-seconds` without a request), idle (probes only) and under load.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { deleteNatsStreams, dropSchemas, uniqueName } from '@tally/shared/testing';
import { percentile, reportResult, runBenchmark } from './bench-support';
import { appNames, buildApps, buildTimeoutMs, Mode, RunningApp, startDeployment, stopAll } from './freshness/apps';
import { backlog } from './freshness/backlog';
import { CpuShares } from './freshness/cpu-shares';
import { runLoad } from './freshness/load';
import { Phase, ProbeResult, Probes } from './freshness/probes';
import { RssSampler } from './freshness/process-stats';
import { rawPublishRate } from './raw-publish';
import { adminCaller, setUp } from './freshness/setup';
import { traceProbes } from './freshness/trace';

const args = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '600' },
    mode: { type: 'string', default: 'distributed' },
    'probes-per-second': { type: 'string', default: '2' },
    batch: { type: 'string', default: '1000' },
    'rest-seconds': { type: 'string', default: '45' },
    'idle-seconds': { type: 'string', default: '15' },
    profile: { type: 'string' },
    compiled: { type: 'boolean', default: false },
  },
}).values;
const positive = (name: keyof typeof args): number => {
  const value = Number(args[name]);
  if (!(value > 0)) throw new Error(`--${name} must be a positive number, not ${args[name]}`);
  return value;
};
const rate = positive('rate');
const seconds = positive('seconds');
const probesPerSecond = positive('probes-per-second');
const batch = Math.floor(positive('batch'));
const restSeconds = positive('rest-seconds');
const idleSeconds = positive('idle-seconds');
if (args.mode !== 'distributed' && args.mode !== 'embedded')
  throw new Error(`--mode is distributed or embedded, not ${args.mode}`);
const mode: Mode = args.mode;

const namespace = uniqueName('bench');
const adminToken = randomBytes(24).toString('base64url');
/** Probes still unseen this long after the load are counted as not seen (their latency a lower bound). */
const drainSeconds = 60;
/** Whatever happens, nothing runs past this: start-up and set-up, idle, load, drain, and a margin. */
const hardDeadlineMs =
  (240 + restSeconds + idleSeconds + seconds + drainSeconds + 60) * 1_000 + (args.compiled ? buildTimeoutMs : 0);

const started: RunningApp[] = [];
const logDir = mkdtempSync(join(tmpdir(), 'tally-freshness-'));
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Ctrl-C, SIGTERM or the hard deadline: the apps stopped, the namespace dropped, exit — never a hang. */
const abort = async (why: string, code: number) => {
  console.error(`freshness benchmark stopped: ${why}; app logs in ${logDir}`);
  const cleanUp = async () => {
    await stopAll(started);
    await deleteNatsStreams(namespace).catch(() => undefined);
    await dropSchemas(namespace).catch(() => undefined);
  };
  // The clean-up gets 30 s of its own; then the children are killed outright.
  await Promise.race([cleanUp(), new Promise((done) => setTimeout(done, 30_000))]);
  for (const { child } of started) child.kill('SIGKILL');
  process.exit(code);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void abort(signal, 130));
setTimeout(() => void abort(`hard deadline of ${hardDeadlineMs / 1_000} s`, 1), hardDeadlineMs).unref();

const latencies = (results: ProbeResult[], phase: Phase) => {
  const mine = results.filter((r) => r.phase === phase);
  const sorted = mine.map((r) => r.latencyMs).sort((a, b) => a - b);
  const unseen = mine.filter((r) => !r.seen).length;
  if (sorted.length === 0) return { count: 0, unseen, p50: NaN, p99: NaN, max: NaN };
  return { count: sorted.length, unseen, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) };
};
const describe = (l: ReturnType<typeof latencies>) =>
  `${l.count} probes${l.unseen ? ` (${l.unseen} not seen within ${drainSeconds} s of the load's end: counted at that lower bound)` : ''}, p50 ${fmt(l.p50)} ms, p99 ${fmt(l.p99)} ms, max ${fmt(l.max as number)} ms`;

/** Whether a probe accepted was never seen: the apps' logs are then kept, for what happened to its event. */
let probesUnseen = false;

const main = async () => {
  console.log(
    `freshness benchmark: ${mode}${args.compiled ? ' (compiled build)' : ''}, ${fmt(rate)} events/s asked for ${seconds} s in ${fmt(batch)}-event batches, ${probesPerSecond} probes/s; namespace ${namespace}`,
  );
  if (args.compiled) {
    console.log('building the apps (nx build; cached when nothing changed)…');
    await buildApps();
  }
  const raw = mode === 'distributed' ? await rawPublishRate(namespace) : undefined;
  if (raw) console.log(`raw JetStream async publish (one client, small messages): ${fmt(raw)} msgs/s`);

  const t0 = performance.now();
  const deployment = await startDeployment(
    { mode, namespace, adminToken, logDir, profile: args.profile, compiled: args.compiled },
    started,
  );
  const pids = () => Object.fromEntries(deployment.processes.map((p) => [p.name, p.child.pid as number]));
  console.log(
    `started in ${((performance.now() - t0) / 1_000).toFixed(1)} s: ${deployment.processes.map((p) => `${p.name} (pid ${p.child.pid})`).join(', ')}; logs in ${logDir}`,
  );
  const t1 = performance.now();
  const apiKey = await setUp(adminCaller(deployment.urlOf, adminToken), appNames);
  console.log(
    `set up in ${((performance.now() - t1) / 1_000).toFixed(1)} s (meters, plan, account, subscription, 101 subjects, key)`,
  );

  // At rest first: nothing asks anything of the apps, as between a deployment's bursts. Sampled every second, so
  // the last sample is the process settled, not the start-up's young generation V8 has not given back yet.
  const rss = new RssSampler(pids, 1_000);
  rss.start();
  await new Promise((done) => setTimeout(done, restSeconds * 1_000));
  for (const { name, mb } of rss.restSeries())
    console.log(`at rest, ${name}, RSS MB every second: ${mb.map((x) => fmt(x)).join(' ')}`);
  rss.phase = 'idle';
  const hour = new Date();
  hour.setUTCMinutes(0, 0, 0);
  const probes = new Probes({
    intakeUrl: deployment.urlOf.ingestion,
    queryUrl: deployment.urlOf.aggregation,
    apiKey,
    adminToken,
    perSecond: probesPerSecond,
    from: hour.toISOString(),
  });
  probes.start();
  await new Promise((done) => setTimeout(done, idleSeconds * 1_000));
  console.log(`idle (${idleSeconds} s, no load): ${describe(latencies(probes.results, 'idle'))}`);

  rss.phase = 'load';
  probes.phase = 'load';
  const cpu = new CpuShares(pids);
  cpu.start();
  let accepted = 0;
  let reported = 0;
  const progress = setInterval(() => {
    const memory = rss.summary().map((s) => `${s.name} ${fmt(s.loadLast)} MB`);
    console.log(
      `  … ${fmt(accepted)} accepted (${fmt((accepted - reported) / 10)}/s over the last 10 s); probes unseen ${probes.pending}; RSS ${memory.join(', ')}`,
    );
    reported = accepted;
  }, 10_000);
  const load = await runLoad({
    url: `${deployment.urlOf.ingestion}/v1/events`,
    apiKey,
    rate,
    seconds,
    batch,
    onAnswer: (n) => (accepted = n),
  });
  clearInterval(progress);
  const shares = cpu.stop();
  const waiting = await backlog(deployment.processes, adminToken, mode === 'distributed' ? namespace : undefined);
  await probes.finish(drainSeconds * 1_000);
  rss.stop();

  // Over the window asked for, or longer if the last answers came after it (the last batch leaves just before its end).
  const achieved = load.accepted / Math.max(seconds, load.seconds);
  const underLoad = latencies(probes.results, 'load');
  const idle = latencies(probes.results, 'idle');
  const memory = rss.summary();
  console.log(
    `load: ${fmt(load.accepted)} events accepted in ${load.seconds.toFixed(1)} s = ${fmt(achieved)} events/s (asked ${fmt(rate)}); ${load.refused} of ${load.requests} requests refused or failed; ${load.late} batches left > 1 s late`,
  );
  console.log(`freshness under load: ${describe(underLoad)}`);
  if (probes.unseen.length > 0) {
    probesUnseen = true;
    for (const phase of ['idle', 'load'] as const) {
      const ids = probes.unseen.filter((p) => p.phase === phase).map((p) => p.id);
      if (ids.length > 0)
        console.log(
          `probes accepted and never seen, ${phase} (event ids): ${ids.slice(0, 50).join(', ')}${ids.length > 50 ? ` and ${ids.length - 50} more` : ''}`,
        );
    }
    console.log('where the first ten of them stand (the namespace read before it is dropped):');
    const traced = await traceProbes(
      namespace,
      probes.unseen.map((p) => p.id),
    ).catch((error: Error) => [`could not trace them: ${error.message}`]);
    for (const line of traced) console.log(`  ${line}`);
  }
  console.log(
    `probe failures: ${probes.sendFailures} sends, ${probes.queryFailures} of ${fmt(probes.queries)} queries (polled every 25 ms: latencies are up to ≈25 ms + one query late)`,
  );
  console.log('backlog when the load ended (projections: ledger events not yet applied):');
  for (const line of waiting) console.log(`  ${line}`);
  console.log(
    `RSS per process, MB (sampled every second): at rest (after ${restSeconds} s without a request) / idle max (probes only) / under load max / last`,
  );
  for (const m of memory)
    console.log(
      `  ${m.name.padEnd(12)} ${fmt(m.restLast)} / ${fmt(m.idleMax)} / ${fmt(m.loadMax)} / ${fmt(m.loadLast)}`,
    );
  console.log(
    'CPU during the load, % of one core (2 cores: 200 %; postgres and nats-server are the machine’s, shared):',
  );
  for (const s of shares.sort((a, b) => b.percent - a.percent))
    console.log(`  ${s.name.padEnd(22)} ${fmt(s.percent)} %`);
  // Idle in the goal's sense is a process nothing is asking anything of (at rest); the probes' own traffic is shown beside it.
  const memoryMet = memory.every((m) => m.loadMax <= 256 && m.restLast <= 150);
  console.log(
    `goal (issue 18): p99 ≤ 1 s at 10,000 events/s for 10 min: ${underLoad.p99 <= 1_000 && underLoad.unseen === 0 ? 'met' : 'not met'} at ${fmt(achieved)} events/s for ${seconds} s; memory ≤ 256 MB (at rest ≤ 150 MB) per app: ${memoryMet ? 'met' : 'not met'}`,
  );
  reportResult({
    stage: mode === 'distributed' ? 'freshness' : 'freshness-embedded',
    figure: underLoad.unseen > 0 ? Math.max(underLoad.p99, drainSeconds * 1_000) : underLoad.p99,
    unit: 'ms',
    raw: raw ? [{ what: 'JetStream async publish, one message per event', value: raw, unit: 'msgs/s' }] : [],
    scale: achieved,
    note: [
      `p50 ${fmt(underLoad.p50)} ms, max ${fmt(underLoad.max as number)} ms, ${underLoad.count} probes${underLoad.unseen ? `, ${underLoad.unseen} not seen` : ''}`,
      `${fmt(achieved)} of ${fmt(rate)} events/s asked, ${seconds} s`,
      `idle p99 ${fmt(idle.p99)} ms`,
      `RSS at rest / max idle / max under load (${args.compiled ? 'compiled' : 'from sources'}) ${memory.map((m) => `${m.name} ${fmt(m.restLast)} / ${fmt(m.idleMax)} / ${fmt(m.loadMax)} MB`).join(', ')}`,
    ].join('; '),
  });
};

runBenchmark(namespace, async () => {
  let finished = false;
  try {
    await main();
    finished = true;
  } finally {
    await stopAll(started);
    // Kept when the run failed or a probe was never seen (what the apps logged says why), or a profile was asked for
    // (it is written there).
    if (finished && !args.profile && !probesUnseen) rmSync(logDir, { recursive: true, force: true });
    else console.log(`app logs${args.profile ? ' and the CPU profile' : ''} kept in ${logDir}`);
  }
});
