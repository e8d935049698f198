import { appendFileSync } from 'node:fs';
import { deleteNatsStreams, dropSchemas } from '@tally/shared/testing';
import { benchResultsEnv, BenchResult } from './bench-summary';

/** Command-line number `--name N`, or the fallback. */
export const numberArg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

/** Command-line text `--name VALUE`, or undefined. */
export const stringArg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Runs a benchmark, always cleans its namespace (schemas and streams) up, and exits with its outcome. */
export const runBenchmark = (namespace: string, main: () => Promise<void>): void => {
  main()
    .finally(async () => {
      await deleteNatsStreams(namespace).catch(() => undefined);
      await dropSchemas(namespace).catch(() => undefined);
    })
    .then(
      () => process.exit(0),
      (error) => {
        console.error(error);
        process.exit(1);
      },
    );
};

/**
 * One headline figure and the raw limit(s) measured beside it in the same run, for `npm run bench`'s summary table:
 * appended as one JSON line to the file TALLY_BENCH_RESULTS names, nothing otherwise (the printed lines stay the
 * benchmark's human output either way).
 */
export const reportResult = (result: BenchResult): void => {
  const file = process.env[benchResultsEnv];
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
};
