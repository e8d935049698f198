/**
 * The chaos harness: its own Postgres, a three-node JetStream cluster and two instances of every app;
 * an at-least-once producer; faults one after another; every read path checked after each.
 *   npm run chaos [-- --events 60000] [--short]
 * Prints a table and ends with "N passed, N failed"; exits 1 if anything failed.
 */
import { rmSync } from 'node:fs';
import { numberArg } from '../bench/bench-support';
import { describeView, runChaos, seconds } from './run';

const events = numberArg('events', 60_000);
const short = process.argv.includes('--short');
const started = Date.now();

runChaos({ events, short, log: (line) => console.log(line) }).then(
  ({ phases, invoices, logDir }) => {
    const rows = phases.map((p) => {
      const failed = p.checks.filter((c) => !c.ok);
      return [
        p.fault,
        String(p.events),
        describeView(p.producers),
        p.convergedMs === null || p.sinceRepairMs === null
          ? 'never'
          : `${seconds(p.sinceRepairMs)} / ${seconds(p.convergedMs)}`,
        failed.length === 0 ? `all ${p.checks.length} exact` : failed.map((c) => `${c.name}: ${c.detail}`).join('; '),
        p.notes.join('; '),
      ];
    });
    console.log(
      '\n| fault | events | producers saw | converged (after the repair / after the last ack) | read paths | measured |\n|---|---|---|---|---|---|',
    );
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
    console.log('');
    for (const check of invoices) console.log(`${check.ok ? 'ok ' : 'FAIL'} ${check.name}: ${check.detail}`);
    const results = [
      ...phases.map((p) => p.convergedMs !== null && p.checks.every((c) => c.ok)),
      ...invoices.map((c) => c.ok),
    ];
    const passed = results.filter(Boolean).length;
    // The apps' logs are worth keeping only when something failed.
    if (passed === results.length) rmSync(logDir, { recursive: true, force: true });
    console.log(
      `\nchaos run: ${Math.round((Date.now() - started) / 1_000)} s, ${phases.reduce((n, p) => n + p.events, 0)} events${passed === results.length ? '' : `; the apps' logs are in ${logDir}`}`,
    );
    console.log(`${passed} passed, ${results.length - passed} failed`);
    process.exit(passed === results.length ? 0 : 1);
  },
  (error) => {
    console.error(error);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
