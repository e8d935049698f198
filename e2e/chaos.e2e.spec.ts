import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/**
 * The chaos harness's short run (tools/chaos): 20,000 events, every fault once — kill -9 of every app
 * instance, of one NATS node and of the whole cluster, Postgres stopped, ledger writes failing, a
 * Postgres restart — with every read path and the invoices exact after each.
 */
describe('chaos (short run)', () => {
  it(
    'loses nothing and counts nothing twice through every fault',
    async () => {
      const run = await promisify(execFile)(
        process.execPath,
        ['tools/run-ts.cjs', 'tools/chaos/main.ts', '--events', '20000', '--short'],
        {
          cwd: resolve(__dirname, '..'),
          maxBuffer: 64 * 1024 * 1024,
          timeout: 20 * 60_000,
        },
      ).catch((error: { stdout?: string; stderr?: string; code?: number }) => ({
        stdout: error.stdout ?? '',
        stderr: `${error.stderr ?? ''} (exit ${error.code})`,
      }));
      console.log(run.stdout);
      const last = run.stdout.trim().split('\n').pop();
      expect(last, run.stderr).toMatch(/^\d+ passed, 0 failed$/);
    },
    25 * 60_000,
  );
});
