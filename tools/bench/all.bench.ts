/**
 * Every benchmark, one after another, each a child process of its own (never two at once: they would share the two
 * cores and measure each other), then the summary table of docs/benchmarks.md rewritten from their figures.
 *   npm run bench [-- --quick] [-- --only intake,billing]
 * `--quick`: small sizes, a few minutes in all. A benchmark that fails is reported (exit code, last lines of its
 * stderr) and the others still run; the exit code is 1 if any failed.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromiumPath } from '@tally/shared/testing-browser';
import { benchResultsEnv, Outcome, parseResults, rewriteSummary } from './bench-summary';

interface Plan {
  name: string;
  /** The script, tools/bench/<script>.bench.ts, when it is not the plan's name (one script, two plans). */
  script?: string;
  /** Arguments of the full run ([]: the script's own defaults) and of `--quick`. */
  full: string[];
  quick: string[];
  /** Why it cannot run here, if it cannot (a missing prerequisite rather than a failure). */
  cannotRun?: () => string | undefined;
}

/**
 * In the order the data flows. No 10M-event variant (aggregation's default history is 10M facts: 1M here; run
 * `npm run bench:aggregation` alone for 10M); the meter query at the goal's 100M events reads the hourly buckets
 * such a history leaves, generated in SQL (≈ 20 s). Quick sizes keep every script's structure, only smaller.
 */
const plans: Plan[] = [
  { name: 'intake', full: [], quick: ['--seconds', '5'] },
  { name: 'attribution', full: [], quick: ['--events', '50000'] },
  {
    name: 'aggregation',
    full: ['--history', '1000000', '--bucket-history', '100000000'],
    quick: ['--events', '50000', '--history', '1000000', '--queries', '200', '--bucket-history', '100000000'],
  },
  { name: 'billing', full: [], quick: ['--subscriptions', '1000', '--raw', '1000'] },
  // What a subscription's age costs: 24 earlier periods each, with usage in every hour of them in the full run
  // (13M hourly buckets written first, ≈ 2–3 minutes), without in the quick one.
  {
    name: 'billing-aged',
    script: 'billing',
    full: ['--subscriptions', '150', '--raw', '1000', '--age-months', '24', '--age-usage', 'hourly'],
    quick: ['--subscriptions', '150', '--raw', '1000', '--age-months', '24'],
  },
  { name: 'archive-replay', full: [], quick: ['--events', '100000'] },
  { name: 'archive', full: [], quick: ['--events', '100000', '--batch', '20000'] },
  { name: 'export', full: [], quick: ['--facts', '100000'] },
  { name: 'scrape', full: [], quick: ['--events', '20000', '--scrapes', '20'] },
  { name: 'flood', full: [], quick: ['--seconds', '3'] },
  { name: 'account-usage', full: [], quick: ['--requests', '5'] },
  // Issue 18's freshness goal, in each mode: 10 minutes at 10,000 events/s (full), 30 s at 2,000 (quick). The apps
  // compiled, as production runs them: from sources each process also holds SWC (≈ 75 MB), and the goal is memory.
  {
    name: 'freshness',
    full: ['--rate', '10000', '--seconds', '600', '--compiled'],
    quick: ['--rate', '2000', '--seconds', '30', '--compiled'],
  },
  {
    name: 'freshness-embedded',
    script: 'freshness',
    full: ['--rate', '10000', '--seconds', '600', '--mode', 'embedded', '--compiled'],
    quick: ['--rate', '2000', '--seconds', '30', '--mode', 'embedded', '--compiled'],
  },
  {
    name: 'console',
    full: [],
    quick: ['--runs', '2'],
    cannotRun: () =>
      existsSync(chromiumPath) ? undefined : `no Chromium at ${chromiumPath} (install it, or set CHROMIUM_PATH)`,
  },
];

const root = resolve(__dirname, '..', '..');
const docPath = join(root, 'docs', 'benchmarks.md');
const stderrLinesKept = 15;

const options = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
}).values;
const mode = options.quick ? 'quick' : 'full';

/** The plans `--only` names (all without it); an unknown name is refused before anything runs. */
const chosen = (): Plan[] => {
  if (!options.only) return plans;
  const names = options.only.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !plans.some((p) => p.name === name));
  if (unknown.length > 0)
    throw new Error(`--only: unknown ${unknown.join(', ')}; the benchmarks are ${plans.map((p) => p.name).join(', ')}`);
  return plans.filter((p) => names.includes(p.name));
};

/** Set by SIGINT or SIGTERM: the running benchmark gets the signal, no other starts, the table stays as it was. */
let stopping: NodeJS.Signals | undefined;
let current: ChildProcess | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    stopping = signal;
    current?.kill(signal);
  });

interface Ran {
  outcome: Outcome;
  seconds: number;
  stderrTail: string[];
}

/** Runs one benchmark: its output passes through as it comes; the last lines of its stderr are kept for the report. */
const run = (plan: Plan, resultsFile: string): Promise<Ran> =>
  new Promise((done) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [
        'tools/run-ts.cjs',
        `tools/bench/${plan.script ?? plan.name}.bench.ts`,
        ...(options.quick ? plan.quick : plan.full),
      ],
      { cwd: root, env: { ...process.env, [benchResultsEnv]: resultsFile }, stdio: ['ignore', 'inherit', 'pipe'] },
    );
    current = child;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      // Enough to hold the last lines; a long stack trace must not grow this without bound.
      stderr = (stderr + chunk).slice(-20_000);
    });
    const finish = (outcome: Outcome) =>
      done({
        outcome,
        seconds: (performance.now() - started) / 1_000,
        stderrTail: stderr.trimEnd().split('\n').slice(-stderrLinesKept),
      });
    child.once('error', () => finish({ status: 'failed', exit: 'spawn failed' }));
    child.once('close', (code, signal) =>
      finish(code === 0 ? { status: 'passed' } : { status: 'failed', exit: code ?? signal ?? 'unknown' }),
    );
  });

const main = async () => {
  const todo = chosen();
  const scratch = mkdtempSync(join(tmpdir(), 'tally-bench-all-'));
  const resultsFile = join(scratch, 'results.jsonl');
  writeFileSync(resultsFile, '');
  const ran = new Map<string, Ran>();
  const runStarted = performance.now();
  try {
    for (const plan of todo) {
      if (stopping) break;
      const args = options.quick ? plan.quick : plan.full;
      const reason = plan.cannotRun?.();
      if (reason) {
        console.log(`\n=== ${plan.name}: skipped, ${reason}`);
        ran.set(plan.name, { outcome: { status: 'skipped', reason }, seconds: 0, stderrTail: [] });
        continue;
      }
      console.log(`\n=== ${plan.name} (${mode}${args.length ? `: ${args.join(' ')}` : ', its defaults'})`);
      const result = await run(plan, resultsFile);
      ran.set(plan.name, result);
      console.log(`=== ${plan.name}: ${result.outcome.status} after ${result.seconds.toFixed(0)} s`);
    }
    if (stopping) {
      // A benchmark killed mid-run has not dropped its schemas and streams (its clean-up runs when it ends).
      console.log(
        `\n${stopping}: stopped; the summary table is left as it was. Drop the killed benchmark's bench* schemas in the test database.`,
      );
      process.exitCode = 130;
      return;
    }
    const results = parseResults(readFileSync(resultsFile, 'utf8'));
    const outcomes = Object.fromEntries([...ran].map(([name, r]) => [name, r.outcome]));
    const date = new Date().toISOString().slice(0, 10);
    writeFileSync(
      docPath,
      rewriteSummary(readFileSync(docPath, 'utf8'), { results, outcomes, run: `${date}, ${mode}` }),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  console.log(
    `\n${mode} run: ${((performance.now() - runStarted) / 60_000).toFixed(1)} min; summary table rewritten in docs/benchmarks.md`,
  );
  for (const [name, r] of ran) {
    const status = r.outcome.status === 'failed' ? `FAILED (exit ${r.outcome.exit})` : r.outcome.status;
    console.log(`  ${name.padEnd(15)} ${status}, ${r.seconds.toFixed(0)} s`);
  }
  const failed = [...ran].filter(([, r]) => r.outcome.status === 'failed');
  for (const [name, r] of failed)
    console.log(
      `\n${name} failed; the last lines of its stderr:\n${r.stderrTail.map((line) => `  ${line}`).join('\n')}`,
    );
  process.exitCode = failed.length > 0 ? 1 : 0;
};

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 2;
});
