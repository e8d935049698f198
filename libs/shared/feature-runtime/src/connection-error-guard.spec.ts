import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../../..');
const run = (kind: 'lost' | 'bug') =>
  spawnSync(
    process.execPath,
    ['tools/run-ts.cjs', 'libs/shared/feature-runtime/src/connection-error-guard.fixture.ts', kind],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 30_000,
    },
  );

describe('a Postgres connection lost with nobody listening', () => {
  it('is logged, and the process carries on', () => {
    const { status, stdout } = run('lost');
    expect([status, stdout.trim()]).toEqual([0, 'still running']);
  });

  it('while any other uncaught error still ends the process', () => {
    const { status, stdout, stderr } = run('bug');
    expect(status).toBe(1);
    expect(stdout).not.toContain('still running');
    expect(stderr).toContain('a bug');
  });
});
