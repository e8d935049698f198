import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../../../..');
const run = async (mode: 'import' | 'use') => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['tools/run-ts.cjs', 'libs/shared/feature-runtime/src/optional-dependencies.fixture.ts', mode],
    { cwd: root, encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, string[]>;
};

/**
 * Loaded alone into a bare process each of these clients adds 20–27 MB of resident memory; left out of a compiled
 * app, the three save it 13–24 MB (docs/operations.md, "Memory"). An app that does not use one must not pay for it.
 */
describe('optional clients (KurrentDB, S3, the OpenTelemetry SDK)', () => {
  it('are not loaded by importing the libraries, nor by tracing that is off', async () => {
    expect(await run('import')).toEqual({ 'at import': [], 'tracing off': [] });
  }, 90_000);

  it('are loaded when configured', async () => {
    expect((await run('use'))['each one used']).toEqual([
      '@kurrent/kurrentdb-client',
      '@aws-sdk/client-s3',
      '@opentelemetry/sdk-node',
      '@opentelemetry/sdk-trace-base',
      '@opentelemetry/exporter-trace-otlp-http',
    ]);
  }, 90_000);
});
