import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, freePort } from '@tally/shared/testing';
import { startEmbeddedPlatform } from '@tally/shared/testing-browser';
import { http, usageEvent } from './support';

/**
 * `npm start` as a user runs it: nothing configured, so an embedded Postgres under the data
 * directory and the in-process bus; the README's curl flow; a restart keeps the data.
 */
describe('embedded mode (npm start)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tally-embedded-'));
  let port = 0;
  let base = '';
  let child: ChildProcess | undefined;
  let output = '';

  const start = async () => {
    // Chosen once: the restart must come back on the same port, as a user's second `npm start` does.
    port ||= await freePort(2);
    base = `http://127.0.0.1:${port}`;
    output = '';
    // A process group of its own, as `npm start` in a terminal is: Ctrl-C signals the whole group.
    child = await startEmbeddedPlatform({ port, dataDir, detached: true, onOutput: (text) => (output += text) });
    expect(output).toContain(`Tally is running — all four apps on ${base}`);
  };

  /** SIGTERM to the process, or SIGINT to its whole process group (Ctrl-C in a terminal). The exit code. */
  const stop = async (how: 'SIGTERM' | 'ctrl-c' = 'SIGTERM') => {
    if (child?.exitCode !== null) return void (child = undefined);
    const exited = new Promise<number | null>((resolve) => child?.once('exit', (code) => resolve(code)));
    if (how === 'ctrl-c' && child?.pid) process.kill(-child.pid, 'SIGINT');
    else child?.kill('SIGTERM');
    const code = await exited;
    child = undefined;
    return code;
  };

  afterAll(async () => {
    if (child) await stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const printed = (name: string) => {
    const match = new RegExp(`export ${name}=(\\S+)`).exec(output);
    if (!match) throw new Error(`${name} not printed:\n${output}`);
    return match[1];
  };

  it('serves every app on one port and shows the usage just sent; data survives a restart', async () => {
    await start();
    expect(output).toContain('curl -s -X POST'); // the first request to try
    // The API reference a newcomer opens: every route of the four apps, without a credential.
    expect(output).toContain(`API reference: ${base}/docs`);
    const reference = await fetch(`${base}/docs/`);
    expect([reference.status, (await reference.text()).includes('swagger-ui')]).toEqual([200, true]);
    const document = (await http('GET', `${base}/openapi.json`, undefined, 'application/json', null)).body;
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/events', '/api/v1/meters/{slug}/query', '/v1/invoices/{id}', '/v1/subjects/{key}']),
    );
    const [admin, apiKey] = [printed('TALLY_ADMIN_TOKEN'), printed('TALLY_API_KEY')];
    expect((await http('GET', `${base}/health`, undefined, 'application/json', null)).body).toMatchObject({
      apps: ['ingestion', 'attribution', 'aggregation', 'invoicing'],
      bus: 'postgres',
    });
    expect(
      (
        await http(
          'POST',
          `${base}/v1/plans`,
          { id: 'payg', name: 'Pay as you go', currency: 'USD' },
          'application/json',
          admin,
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await http(
          'POST',
          `${base}/v1/accounts`,
          { id: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC' },
          'application/json',
          admin,
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await http(
          'POST',
          `${base}/v1/subscriptions`,
          { id: 'acme-payg', accountId: 'acme', planId: 'payg', startsAt: '2026-01-01T00:00:00Z' },
          'application/json',
          admin,
        )
      ).status,
    ).toBe(201);
    await http('PUT', `${base}/v1/subjects/installation-1`, { accountId: 'acme' }, 'application/json', admin);
    const sent = await http(
      'POST',
      `${base}/v1/events`,
      usageEvent('evt-1', 'installation-1'),
      'application/cloudevents+json',
      apiKey,
    );
    expect(sent.body.accepted).toBe(1);
    const total = async () =>
      (await http('GET', `${base}/v1/usage?accountId=acme&windowSize=HOUR`, undefined, 'application/json', admin)).body
        .totalEvents;
    await eventually(total, (t) => t === '1', 5_000);
    // Embedded mode keeps an archive by default (TALLY_DATA_DIR/archive), sealing after 43 days, pruning off.
    expect((await http('GET', `${base}/v1/admin/archive`, undefined, 'application/json', admin)).body).toMatchObject({
      store: 'filesystem',
      afterDays: 43,
      prune: false,
    });

    // The shipped Forge catalog, loaded at start, reproduces Atlassian's published example through the API and
    // the in-process bus (invoicing asks aggregation for usage): 250,000 GB-s and 0.15 GB of KVS reads in a month
    // cost 1.25 + 0.00275 USD for one app; a second app with the same usage gets its own free allowance.
    expect(output).toContain('loaded catalog forge: 12 meters, 1 plans (forge)');
    expect(
      (
        await http(
          'POST',
          `${base}/v1/accounts`,
          { id: 'vendor', name: 'Vendor', currency: 'USD', timezone: 'UTC' },
          'application/json',
          admin,
        )
      ).status,
    ).toBe(201);
    expect(
      (
        await http(
          'POST',
          `${base}/v1/subscriptions`,
          { id: 'vendor-forge', accountId: 'vendor', planId: 'forge', startsAt: '2026-01-01T00:00:00Z' },
          'application/json',
          admin,
        )
      ).status,
    ).toBe(201);
    for (const app of ['app-1', 'app-2'])
      await http(
        'PUT',
        `${base}/v1/subjects/${app}`,
        { accountId: 'vendor', attributes: { app } },
        'application/json',
        admin,
      );
    const forgeEvents = ['app-1', 'app-2'].flatMap((app) => [
      {
        specversion: '1.0',
        id: `${app}-fn`,
        source: '//forge',
        type: 'forge.function.invocation',
        subject: app,
        // Forge's rule: 1024 MiB ÷ 1024 × 250,000 s = 250,000 GB-s
        data: { memoryMiB: 1024, durationMs: 250_000_000 },
      },
      {
        specversion: '1.0',
        id: `${app}-kvs`,
        source: '//forge',
        type: 'forge.kvs.read',
        subject: app,
        data: { bytes: 150_000_000 }, // 0.15 GB
      },
    ]);
    expect((await http('POST', `${base}/v1/events`, forgeEvents, 'application/json', apiKey)).body.accepted).toBe(4);
    const upcoming = await eventually(
      () => http('GET', `${base}/v1/accounts/vendor/upcoming-invoice`, undefined, 'application/json', admin),
      (r) => r.body.subtotal === '2.5055',
      10_000,
    );
    const billed = upcoming.body.lines
      .filter((l: { amount: string }) => l.amount !== '0')
      .map((l: Record<string, string>) => [l.meter, l.perValue, l.quantity, l.amount]);
    expect(billed).toEqual([
      ['forge-functions', 'app-1', '250000', '1.25'],
      ['forge-functions', 'app-2', '250000', '1.25'],
      ['forge-kvs-reads', 'app-1', '0.15', '0.00275'],
      ['forge-kvs-reads', 'app-2', '0.15', '0.00275'],
    ]);
    expect(upcoming.body.total).toBe('2.51'); // 2 × (1.25 + 0.00275) = 2.5055 → half-even to cents

    // Ctrl-C: the apps drain, then the embedded Postgres stops — exit 0, and not one error line on the way.
    const before = output.length;
    expect(await stop('ctrl-c')).toBe(0);
    const stopping = output.slice(before);
    expect(stopping).toContain('draining and stopping');
    expect(
      stopping.split('\n').filter((line) => /error|terminat|ECONN|unexpected|fail/i.test(line)),
      stopping,
    ).toEqual([]);
    await start();
    // The same credentials after a restart: kept in the data directory.
    expect([printed('TALLY_ADMIN_TOKEN'), printed('TALLY_API_KEY')]).toEqual([admin, apiKey]);
    expect(await total()).toBe('1');
  }, 120_000);
});
