import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../../..');
const run = (mode: 'import' | 'use') => {
  const { status, stdout, stderr } = spawnSync(
    process.execPath,
    ['tools/run-ts.cjs', 'libs/shared/feature-runtime/src/optional-dependencies.fixture.ts', mode],
    { cwd: root, encoding: 'utf8', timeout: 60_000 },
  );
  expect(status, stderr).toBe(0);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string[]>;
};

/**
 * Each of these clients adds 20–27 MB of resident memory to a process that loads it (docs/operations.md,
 * "Memory"); an app that does not use it must not pay for it.
 */
describe('optional clients (KurrentDB, S3, the OpenTelemetry SDK)', () => {
  it('are not loaded by importing the libraries, nor by tracing that is off', () => {
    expect(run('import')).toEqual({ 'at import': [], 'tracing off': [] });
  });

  it('are loaded when configured', () => {
    expect(run('use')['each one used']).toEqual([
      '@kurrent/kurrentdb-client',
      '@aws-sdk/client-s3',
      '@opentelemetry/sdk-node',
    ]);
  });
});
