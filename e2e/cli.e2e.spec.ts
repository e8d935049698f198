import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { adminToken, AppName, deleteStreams, http, openPayingAccount, startApp, usageEvent } from './support';

/** The `tally` bin, as an operator runs it: its own process, the environment it is given, nothing else. */
const tally = (args: string[], env: Record<string, string | undefined> = { TALLY_ADMIN_TOKEN: adminToken }) =>
  promisify(execFile)(process.execPath, ['tools/cli/tally.cjs', ...args], {
    cwd: resolve(__dirname, '..'),
    env: { PATH: process.env.PATH, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({
      code: error.code,
      stdout: error.stdout,
      stderr: error.stderr,
    }),
  );

describe('the tally CLI', () => {
  const namespace = uniqueName('cli');
  const apps = {} as Record<AppName, RunningTally>;
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-cli-'));
  let producerKey: string;

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, { TALLY_BILLING_INTERVAL_MS: '3600000' });
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('explains itself: --help everywhere, a usage error for a missing argument or an unknown command', async () => {
    const overview = await tally(['--help']);
    expect(overview.code).toBe(0);
    for (const command of [
      'events status <source> <id>',
      'api-keys create <name>',
      'usage export <meter>',
      'invoices show',
    ])
      expect(overview.stdout).toContain(command);
    const one = await tally(['api-keys', 'create', '--help']);
    expect(one).toMatchObject({ code: 0, stdout: expect.stringContaining('--sources') });
    expect(await tally(['events', 'status', '//only-a-source'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('missing arguments'),
    });
    expect(await tally(['nonsense'])).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: tally') });
  });

  it('refuses clearly without a credential, and takes the one `npm start` keeps in its data directory', async () => {
    const none = await tally(['consumers', '--url', apps.ingestion.url], { TALLY_DATA_DIR: dataDir });
    expect(none).toMatchObject({ code: 2, stderr: expect.stringContaining('no credential') });
    writeFileSync(join(dataDir, 'admin-token'), `${adminToken}\n`);
    const kept = await tally(['consumers', '--url', apps.ingestion.url, '--json'], { TALLY_DATA_DIR: dataDir });
    expect(kept.code).toBe(0);
    expect(JSON.parse(kept.stdout).consumers.length).toBeGreaterThan(0);
  });

  it('manages producer keys, follows an event, exports usage as CSV and lists invoices — tables by default, JSON on request', async () => {
    const created = await tally([
      'api-keys',
      'create',
      'cli producer',
      '--sources',
      '//fn-runtime/*',
      '--url',
      apps.ingestion.url,
      '--json',
    ]);
    expect(created.code).toBe(0);
    producerKey = JSON.parse(created.stdout).key;
    const table = await tally(['api-keys', 'list', '--url', apps.ingestion.url]);
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+tenant\s+name\s+prefix/);
    expect(table.stdout).toContain('cli producer');

    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    expect((await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' })).status).toBe(201);
    const meter = {
      slug: 'gbs',
      name: 'GB-seconds',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
    };
    expect((await http('POST', `${apps.aggregation.url}/api/v1/meters`, meter)).status).toBe(201);
    const sent = await http(
      'POST',
      `${apps.ingestion.url}/v1/events`,
      [usageEvent('cli-1', 'inst-1')],
      'application/json',
      producerKey,
    );
    expect(sent.body.accepted).toBe(1);

    const status = await eventually(
      () => tally(['events', 'status', '//fn-runtime/eu-1', 'cli-1', '--url', apps.ingestion.url, '--json']),
      (r) => r.code === 0 && JSON.parse(r.stdout).status === 'attributed',
      10_000,
    );
    expect(JSON.parse(status.stdout)).toMatchObject({ accountId: 'acme' });
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const csv = await eventually(
      () => tally(['usage', 'export', 'gbs', '--from', from, '--url', apps.aggregation.url]),
      (r) => r.code === 0 && r.stdout.includes('0.5'),
      10_000,
    );
    expect(csv.stdout.split('\n')[0]).toContain('value');
    const parked = await tally(['parked', 'list', '--url', apps.attribution.url]);
    expect(parked).toMatchObject({ code: 0, stdout: expect.stringContaining('(none)') });
    const invoices = await tally(['invoices', 'list', 'acme', '--url', apps.invoicing.url]);
    expect(invoices).toMatchObject({ code: 0, stdout: expect.stringContaining('(none)') });
    // A refusal: stderr with the HTTP status, exit 1.
    const missing = await tally(['invoices', 'show', 'no-such-invoice', '--url', apps.invoicing.url]);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringContaining('HTTP 404') });
  });
});
