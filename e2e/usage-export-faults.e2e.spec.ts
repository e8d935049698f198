import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { eventually, ScratchPostgres, uniqueName } from '@tally/shared/testing';
import { adminToken, deleteStreams, startApp } from './support';

/** Enough rows (≈60 MB of CSV) that the export is still streaming, held back by the unread socket, when Postgres goes. */
const rows = 100_000;
const from = '2026-11-01T00:00:00Z';
const to = '2026-12-01T00:00:00Z';

/**
 * The export when Postgres goes away after its first bytes: the aggregation app runs on a Postgres of this
 * suite's own, which the test stops mid-export. The answer must break off (no last chunk), never end like a
 * complete, shorter file; and an export whose reader leaves must give its connection back.
 */
describe('a usage export whose database goes away', () => {
  const namespace = uniqueName('exportfault');
  let postgres: ScratchPostgres;
  let aggregation: RunningTally;
  const schema = `${namespace}_aggregation`;

  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    aggregation = await startApp('aggregation', namespace, {
      DATABASE_URL: postgres.url(),
      TALLY_EXPORT_BATCH_ROWS: '100',
    });
    // Facts written straight into the projection's table: this is about reading them out.
    await postgres.query(
      `insert into "${schema}".usage_facts (usage_id, tenant, account_id, subject, event_type, time, last_position, data, attributes)
       select md5(g::text)::uuid, 'default', 'acme', 'fn-a', 'fn.invocation',
              timestamptz '2026-11-01T00:00:00Z' + g * interval '1 second', g,
              jsonb_build_object('gbSeconds', '0.' || lpad(g::text, 28, '0'), 'padding', repeat('x', 400)),
              '{"app":"forge-a"}'
         from generate_series(1, ${rows}) g`,
    );
  }, 60_000);

  afterAll(async () => {
    await postgres.start().catch(() => undefined);
    await aggregation?.close();
    await deleteStreams(namespace);
    await postgres?.destroy();
  });

  const exportConnections = async () =>
    (
      await postgres.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where query like 'fetch forward%' and state <> 'idle'`,
      )
    )[0].n;

  const startExport = async () => {
    const answer = await fetch(`${aggregation.url}/v1/exports/usage?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(answer.status).toBe(200);
    const reader = (answer.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value).split('\r\n')[0]).toBe(
      'usage_id,account_id,subject,event_type,time,data,attributes,position',
    );
    return reader;
  };

  it('gives the connection back when the reader leaves mid-export', async () => {
    const reader = await startExport();
    // Held back by the unread answer: the cursor's transaction waits, open.
    await eventually(exportConnections, (n) => n === 1, 10_000);
    await reader.cancel();
    await eventually(exportConnections, (n) => n === 0, 10_000);
  });

  it('gives the connection back when the client is gone before the first bytes', async () => {
    // The export's first query waits behind this lock; the client leaves meanwhile, so the answer's body is
    // closed before anything reads it.
    const locker = new Client({ connectionString: postgres.url() });
    await locker.connect();
    await locker.query('begin');
    await locker.query(`lock table "${schema}".usage_facts in access exclusive mode`);
    const client = new AbortController();
    const answer = fetch(`${aggregation.url}/v1/exports/usage?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${adminToken}` },
      signal: client.signal,
    }).catch((error: unknown) => error);
    await eventually(
      async () =>
        (
          await postgres.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'declare usage_export%'`,
          )
        )[0].n,
      (n) => n === 1,
      10_000,
    );
    client.abort();
    expect(await answer).toBeInstanceOf(Error);
    await locker.query('rollback');
    await locker.end();
    // The export took its first batch after the client left: its cursor, transaction and connection close.
    await eventually(
      async () =>
        (
          await postgres.query<{ n: number }>(
            `select count(*)::int as n from pg_stat_activity where query like 'fetch forward%' or query like 'declare usage_export%'`,
          )
        )[0].n,
      (n) => n === 0,
      10_000,
    );
  });

  it('breaks the answer off, without its last chunk, when Postgres stops after the first bytes', async () => {
    const reader = await startExport();
    await postgres.stop();
    let received = 0;
    const outcome = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ended like a complete file';
        received += value.length;
      }
    })().catch((error: Error) => error);
    expect(outcome).toBeInstanceOf(TypeError);
    expect((outcome as TypeError).message).toBe('terminated');
    // Less than the whole file arrived (≈600 bytes a row), and the app lives on.
    expect(received).toBeLessThan(rows * 500);
    await postgres.start();
    expect((await fetch(`${aggregation.url}/health/live`)).status).toBe(200);
    // Once Postgres is back, the same export runs to its end.
    const again = await fetch(`${aggregation.url}/v1/exports/usage?from=${from}&to=${to}`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const text = await again.text();
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(rows + 1);
  }, 60_000);
  it('answers 503, and no file, when Postgres is down before the export starts', async () => {
    await postgres.stop();
    try {
      const answer = await fetch(`${aggregation.url}/v1/exports/usage?from=${from}&to=${to}`, {
        headers: { authorization: `Bearer ${adminToken}` },
      });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('content-disposition')).toBeNull();
      expect(((await answer.json()) as { type: string }).type).toBe(
        'https://tally.dev/problems/dependency-unavailable',
      );
    } finally {
      await postgres.start();
    }
  }, 60_000);

  it('leaves no file behind from the CLI when the export breaks off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-export-fault-'));
    const output = join(dir, 'usage.csv');
    try {
      const cli = promisify(execFile)(
        process.execPath,
        [
          'tools/run-ts.cjs',
          'tools/cli/main.ts',
          'usage',
          'export-events',
          '--from',
          from,
          '--to',
          to,
          '--output',
          output,
          '--url',
          aggregation.url,
        ],
        { cwd: resolve(__dirname, '..'), env: { ...process.env, TALLY_ADMIN_TOKEN: adminToken } },
      ).catch((error: { code: number; stderr: string }) => error);
      // Postgres stops once the first bytes are in the partial file (≈60 MB to come, 100 rows a fetch: seconds).
      await eventually(
        async () => statSync(`${output}.partial`, { throwIfNoEntry: false })?.size ?? 0,
        (size) => size > 0,
        30_000,
      );
      await postgres.stop();
      expect(await cli).toMatchObject({ code: 1, stderr: expect.stringContaining('the export broke off') });
      expect(existsSync(output)).toBe(false);
      expect(existsSync(`${output}.partial`)).toBe(false);
    } finally {
      await postgres.start();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
