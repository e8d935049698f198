import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = (app: string, env: Record<string, string>) =>
  promisify(execFile)(process.execPath, ['tools/run-ts.cjs', `apps/${app}/src/main.ts`], {
    cwd: resolve(__dirname, '..'),
    env: { PATH: process.env.PATH ?? '', ...env },
  }).then(
    () => ({ code: 0, stderr: '' }),
    (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
  );

describe('configuration at start-up', () => {
  it('a distributed app refuses to start without its required variables, naming them', async () => {
    const { code, stderr } = await run('attribution', {});
    expect(code).toBe(1);
    expect(stderr).toContain('DATABASE_URL is required');
    expect(stderr).toContain('NATS_URL is required');
  });

  it('names a malformed variable and what was expected', async () => {
    const { code, stderr } = await run('ingestion', {
      DATABASE_URL: 'postgres://x@127.0.0.1/x',
      NATS_URL: 'nats://127.0.0.1:4222',
      PORT: 'eighty',
    });
    expect(code).toBe(1);
    expect(stderr).toContain('PORT="eighty" is invalid: expected a TCP port between 0 and 65535');
  });
});
