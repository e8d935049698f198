import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BenchResult,
  betweenMarkers,
  parseResults,
  replaceBetweenMarkers,
  rewriteSummary,
  stages,
  summaryEnd,
  summaryStart,
  summaryTable,
} from './bench-summary';

const intake: BenchResult = {
  stage: 'intake',
  figure: 61_768.4,
  unit: 'events/s',
  raw: [{ what: 'JetStream async publish', value: 32_065, unit: 'msgs/s' }],
  note: 'p99 212.8 ms',
};
const query: BenchResult = {
  stage: 'meter-query',
  figure: 17.04,
  unit: 'ms',
  raw: [],
  scale: 1_000_000,
  note: 'p50 9.1 ms',
};
const freshness: BenchResult = {
  stage: 'freshness',
  figure: 551.2,
  unit: 'ms',
  raw: [{ what: 'JetStream async publish', value: 32_065, unit: 'msgs/s' }],
  scale: 1_987.4,
  note: 'p50 353 ms',
};
const doc = (table: string) =>
  `# Benchmarks\n\nIntro, kept as it is.\n\n${summaryStart}\n${table}\n${summaryEnd}\n\n## Results\n\nMore | text\n`;
const rowOf = (table: string, label: string) => table.split('\n').find((line) => line.startsWith(`| ${label}`));

describe('parseResults', () => {
  it('reads one result a line and skips blank lines', () => {
    expect(parseResults(`${JSON.stringify(intake)}\n\n${JSON.stringify(query)}\n`)).toEqual([intake, query]);
  });

  it('names the line that is not a result', () => {
    expect(() => parseResults(`${JSON.stringify(intake)}\n{"stage":"x"`)).toThrow(/line 2 is not JSON/);
    expect(() => parseResults('{"stage":"x","figure":"fast","unit":"events/s","raw":[]}')).toThrow(/line 1 lacks/);
    expect(() => parseResults('{"stage":"x","figure":1,"unit":"events/s","raw":[{"what":"y"}]}')).toThrow(/line 1/);
  });
});

describe('summaryTable', () => {
  const table = summaryTable({
    results: [intake, query],
    outcomes: { intake: { status: 'passed' }, aggregation: { status: 'passed' } },
    run: '2026-11-27, quick',
  });

  it('puts each figure beside its raw limit, the ratio to it and the goal, with the run', () => {
    expect(rowOf(table, 'Intake')).toBe(
      '| Intake, accepted + persisted (intake) | 61,768 events/s (p99 212.8 ms) | JetStream async publish: 32,065 msgs/s | 1.93× | ≥ 100,000 events/s: not met | 2026-11-27, quick |',
    );
  });

  it('says at which size a goal set at a larger one was met, and shows no ratio without a raw limit', () => {
    expect(rowOf(table, 'Meter query')).toBe(
      '| Meter query p99 (one account, 30 days of hours) (aggregation) | 17.0 ms (p50 9.1 ms) | — | — | p99 ≤ 20 ms over 100,000,000 events: met at 1,000,000 | 2026-11-27, quick |',
    );
  });

  it('has a row for every stage, in order', () => {
    const rows = table.split('\n').slice(2);
    expect(rows).toHaveLength(stages.length);
    expect(table.split('\n')[0]).toBe('| stage | figure | raw limit in the same run | ratio | goal (issue 18) | run |');
  });

  it('holds freshness p99 to the goal at the rate it was measured at, with no ratio of a latency to a rate', () => {
    const measured = summaryTable({
      results: [freshness, { ...freshness, stage: 'freshness-embedded', figure: 1_200, raw: [], scale: 10_000 }],
      outcomes: { freshness: { status: 'passed' }, 'freshness-embedded': { status: 'passed' } },
      run: 'r',
    });
    expect(rowOf(measured, 'Freshness p99 under load, distributed')).toBe(
      '| Freshness p99 under load, distributed (accepted → in the meter query) (freshness) | 551 ms (p50 353 ms) | JetStream async publish: 32,065 msgs/s | — | p99 ≤ 1 s at 10,000 events/s for 10 min: met at 1,987 events/s | r |',
    );
    expect(rowOf(measured, 'Freshness p99 under load, embedded')).toContain(
      '| p99 ≤ 1 s at 10,000 events/s for 10 min: not met | r |',
    );
    expect(rowOf(table, 'Freshness p99 under load, distributed')).toContain('| not run yet |');
  });

  it('says why a stage has no figure: its benchmark failed (even after reporting one), was skipped, or reported none', () => {
    const failed = summaryTable({
      results: [{ ...intake, stage: 'billing-draft' }],
      outcomes: {
        billing: { status: 'failed', exit: 1 },
        console: { status: 'skipped', reason: 'no Chromium' },
        scrape: { status: 'passed' },
      },
      run: 'r',
    });
    expect(rowOf(failed, 'Billing run, drafting')).toContain('| no figure: the benchmark failed (exit 1) |');
    expect(rowOf(failed, 'Console account page')).toContain('| not run: no Chromium |');
    expect(rowOf(failed, 'GET /metrics')).toContain('| no figure reported |');
  });

  it('keeps the earlier rows of benchmarks this run did not run, and escapes a | in a note', () => {
    const earlier = summaryTable({ results: [query], outcomes: { aggregation: { status: 'passed' } }, run: 'before' });
    const now = summaryTable({
      results: [{ ...intake, note: 'a | b' }],
      outcomes: { intake: { status: 'passed' } },
      run: 'now',
      previous: earlier,
    });
    expect(rowOf(now, 'Meter query')).toBe(rowOf(earlier, 'Meter query'));
    expect(rowOf(now, 'Intake')).toContain('(a \\| b)');
    expect(rowOf(now, 'Intake')).toMatch(/\| now \|$/);
  });
});

describe('replaceBetweenMarkers', () => {
  it('replaces an old table and leaves every byte around the markers as it was', () => {
    const before = doc('| old | table |\n|---|---|\n| a | b |');
    const after = replaceBetweenMarkers(before, '| new |\n|---|\n');
    expect(after).toBe(doc('| new |\n|---|'));
    expect(after).not.toContain('old');
    const [head, tail] = [before.split(summaryStart)[0], before.split(summaryEnd)[1]];
    expect(after.startsWith(head + summaryStart)).toBe(true);
    expect(after.endsWith(summaryEnd + tail)).toBe(true);
  });

  it('gives the same document when run again (no blank lines pile up)', () => {
    const once = replaceBetweenMarkers(doc(''), '| t |');
    expect(replaceBetweenMarkers(once, '| t |')).toBe(once);
  });

  it('refuses a document without both markers, with both twice, or in the wrong order, and says so', () => {
    expect(() => replaceBetweenMarkers('# Benchmarks\n', 'x')).toThrow(/expected one <!-- bench:summary:start -->/);
    expect(() => replaceBetweenMarkers(`${summaryStart}\n`, 'x')).toThrow(/found 1 and 0/);
    expect(() => replaceBetweenMarkers(doc('a') + doc('b'), 'x')).toThrow(/found 2 and 2/);
    expect(() => replaceBetweenMarkers(`${summaryEnd}\n${summaryStart}`, 'x')).toThrow(/comes before/);
  });

  it('rewrites the table of docs/benchmarks.md itself, and nothing else of it', () => {
    const benchmarks = readFileSync(resolve(__dirname, '../../docs/benchmarks.md'), 'utf8');
    const rewritten = rewriteSummary(benchmarks, {
      results: [intake],
      outcomes: { intake: { status: 'passed' } },
      run: 'spec',
    });
    expect(betweenMarkers(rewritten)).toContain('| 61,768 events/s (p99 212.8 ms) |');
    const outside = (text: string) => text.replace(/<!-- bench:summary:start -->[^]*<!-- bench:summary:end -->/, '');
    expect(outside(rewritten)).toBe(outside(benchmarks));
  });
});
