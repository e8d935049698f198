import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageBatchV1, usageReceivedSubject } from '@tally/contracts/usage';
import { encodeJson } from '@tally/shared/data-access-messaging';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { RunningTally } from '@tally/shared/feature-runtime';
import {
  adminToken,
  AppName,
  createProducerKey,
  deleteStreams,
  http,
  openPayingAccount,
  startApp,
  usageEvent,
} from './support';

/**
 * The walking skeleton across the four real apps, each its own Nest application and HTTP server,
 * talking only through NATS JetStream and the ledger, on the machine's Postgres and NATS.
 */
describe('usage end to end: ingestion → JetStream → attribution → ledger → aggregation → query', () => {
  const namespace = uniqueName('e2e');
  const apps = {} as Record<AppName, RunningTally>;
  let key: string;
  const url = (app: AppName, path: string) => `${apps[app].url}${path}`;
  const usageOf = async (accountId: string) => {
    const from = new Date(Date.now() - 2 * 3_600_000);
    from.setUTCMinutes(0, 0, 0);
    const to = new Date(from.getTime() + 4 * 3_600_000);
    const { body } = await http(
      'GET',
      url(
        'aggregation',
        `/v1/usage?accountId=${accountId}&windowSize=HOUR&from=${from.toISOString()}&to=${to.toISOString()}`,
      ),
    );
    return BigInt(body.totalEvents);
  };

  beforeAll(async () => {
    for (const app of ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace);
    key = await createProducerKey(apps.ingestion.url);
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    expect(
      (
        await http('PUT', url('attribution', '/v1/subjects/installation-1'), {
          accountId: 'acme',
          attributes: { app: 'forge-app' },
        })
      ).status,
    ).toBe(201);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('every app is up, on its own server, over JetStream', async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const) {
      expect((await http('GET', url(app, '/health'))).body).toMatchObject({
        status: 'ok',
        apps: [app],
        bus: 'jetstream',
        ledger: 'postgres',
      });
    }
  });

  it('shows an accepted event in the usage query within 2 seconds', async () => {
    const before = await usageOf('acme');
    const accepted = await http(
      'POST',
      url('ingestion', '/v1/events'),
      usageEvent('evt-fresh', 'installation-1'),
      'application/cloudevents+json',
      key,
    );
    const acceptedAt = Date.now();
    expect(accepted.body.results).toEqual([
      { index: 0, id: 'evt-fresh', source: '//fn-runtime/eu-1', status: 'accepted' },
    ]);
    await eventually(
      () => usageOf('acme'),
      (total) => total === before + 1n,
      2_000,
    );
    expect(Date.now() - acceptedAt).toBeLessThan(2_000);
  });

  it('measures and exposes freshness: accepted → visible, how far behind, status', async () => {
    const projections = await http('GET', url('aggregation', '/v1/admin/projections'));
    const rollup = projections.body.projections.find((p: { name: string }) => p.name === 'aggregation_usage_rollup');
    expect(rollup).toMatchObject({ status: 'running', behind: 0, lastError: null });
    expect(rollup.acceptedToVisibleMs).toBeGreaterThanOrEqual(0);
    expect(rollup.acceptedToVisibleMs).toBeLessThan(2_000);
    const metrics = await fetch(url('aggregation', '/metrics'), { headers: { authorization: `Bearer ${adminToken}` } });
    const text = await metrics.text();
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(text).toContain('tally_projection_up{projection="aggregation_usage_rollup"} 1');
    expect(text).toContain('tally_projection_lag_events{projection="aggregation_usage_rollup"} 0');
    expect(text).toMatch(
      /tally_projection_accepted_to_visible_seconds\{projection="aggregation_usage_rollup"\} \d+(\.\d+)?/,
    );
  });

  it("exposes Prometheus metrics: Node's own, request durations by route template, intake outcomes by tenant", async () => {
    const scrape = await fetch(url('ingestion', '/metrics'), { headers: { authorization: `Bearer ${adminToken}` } });
    const text = await scrape.text();
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);
    expect(text).toMatch(
      /^tally_http_request_duration_seconds_count\{method="POST",route="\/v1\/events",status="200"\} [1-9]/m,
    );
    expect(text).toMatch(/^tally_intake_events_total\{tenant="default",outcome="accepted"\} [1-9]/m);
    // Route templates, not raw URLs: an id in a path never becomes a label.
    expect(text).not.toMatch(/route="[^"]*evt-/);
  });

  it('counts a duplicate (same source and id) once, whether JetStream or the ledger catches it', async () => {
    const before = await usageOf('acme');
    const event = usageEvent('evt-dup', 'installation-1');
    const first = await http('POST', url('ingestion', '/v1/events'), [event], 'application/json', key);
    const again = await http('POST', url('ingestion', '/v1/events'), [event], 'application/json', key);
    expect([first.body.results[0].status, again.body.results[0].status]).toEqual(['accepted', 'duplicate']);
    // A retry that arrives after JetStream's duplicate window has a new message id: the ledger still counts it once.
    const late: UsageBatchV1 = {
      tenant: 'default',
      receivedAt: new Date().toISOString(),
      events: [event as UsageBatchV1['events'][number]],
    };
    await apps.ingestion.runtime.bus.publish(usageReceivedSubject, encodeJson(late), { msgId: 'after-the-window' });
    // A marker sent after the duplicates: once it is counted, the duplicates have been processed too.
    await http(
      'POST',
      url('ingestion', '/v1/events'),
      [usageEvent('evt-marker', 'installation-1')],
      'application/json',
      key,
    );
    await eventually(
      () => usageOf('acme'),
      (total) => total >= before + 2n,
      5_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await usageOf('acme')).toBe(before + 2n);
  });

  it('parks usage of an unknown subject, lists it, and counts it once when the subject is registered (twice)', async () => {
    const parkedEvent = usageEvent('evt-parked', 'installation-new');
    await http('POST', url('ingestion', '/v1/events'), [parkedEvent], 'application/json', key);
    const parked = await eventually(
      () => http('GET', url('attribution', '/v1/parked-usage')),
      (r) => r.body.items.some((i: { eventId: string }) => i.eventId === 'evt-parked'),
      5_000,
    );
    expect(parked.body.items.find((i: { eventId: string }) => i.eventId === 'evt-parked')).toMatchObject({
      subject: 'installation-new',
      reason: 'unknown_subject',
      source: '//fn-runtime/eu-1',
    });

    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'globex', 'EUR');
    expect(await usageOf('globex')).toBe(0n);
    const registered = await http('PUT', url('attribution', '/v1/subjects/installation-new'), { accountId: 'globex' });
    const repeated = await http('PUT', url('attribution', '/v1/subjects/installation-new'), { accountId: 'globex' });
    expect([registered.status, repeated.status]).toEqual([201, 200]);

    await eventually(
      () => usageOf('globex'),
      (total) => total === 1n,
      5_000,
    );
    await eventually(
      () => http('GET', url('attribution', '/v1/parked-usage')),
      (r) => !r.body.items.some((i: { eventId: string }) => i.eventId === 'evt-parked'),
      5_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await usageOf('globex')).toBe(1n);
  });

  it('rebuilds the usage rollup from the ledger (admin endpoint and CLI) with identical results', async () => {
    const before = { acme: await usageOf('acme'), globex: await usageOf('globex') };
    const listed = await http('GET', url('aggregation', '/v1/admin/projections'));
    expect(listed.body.projections.map((p: { name: string }) => p.name)).toEqual([
      'aggregation_usage_rollup',
      'aggregation_meters',
      'aggregation_budget_alert_relay',
    ]);
    expect(
      (await http('POST', url('aggregation', '/v1/admin/projections/aggregation_usage_rollup/rebuild'), {})).status,
    ).toBe(202);
    // Asynchronously: the aggregation app serving the CLI runs in this very process.
    const cli = await promisify(execFile)(
      process.execPath,
      [
        'tools/run-ts.cjs',
        'tools/cli/main.ts',
        'projections',
        'rebuild',
        'aggregation_usage_rollup',
        '--json',
        '--url',
        apps.aggregation.url,
      ],
      {
        cwd: resolve(__dirname, '..'),
        env: { ...process.env, TALLY_ADMIN_TOKEN: adminToken },
      },
    );
    expect(JSON.parse(cli.stdout)).toMatchObject({ name: 'aggregation_usage_rollup', status: 'rebuild requested' });
    // The rebuild happens beside the live tables, which keep answering; once swapped in, the same totals.
    await eventually(
      () => http('GET', url('aggregation', '/v1/admin/projections')),
      (r) =>
        r.body.projections.find((p: { name: string }) => p.name === 'aggregation_usage_rollup').rebuildRequested ===
        false,
      20_000,
    );
    expect({ acme: await usageOf('acme'), globex: await usageOf('globex') }).toEqual(before);
    // Every answer from a projection says which ledger position it reflects.
    const answer = await fetch(url('aggregation', '/v1/usage?accountId=acme'), {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(BigInt(answer.headers.get('tally-ledger-position') ?? '0')).toBeGreaterThan(0n);
    expect((await http('POST', url('aggregation', '/v1/admin/projections/nope/rebuild'), {})).status).toBe(404);
  });

  it('refuses malformed input with problem+json and stores nothing', async () => {
    const malformed = await fetch(url('ingestion', '/v1/events'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: '{"id": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');
    const invalid = await http(
      'POST',
      url('ingestion', '/v1/events'),
      [{ ...usageEvent('evt-bad', 'installation-1'), time: 'not a time' }],
      'application/json',
      key,
    );
    expect(invalid.body.results[0]).toMatchObject({ status: 'rejected', errors: [{ field: 'time' }] });
    const account = await http('POST', url('attribution', '/v1/accounts'), {
      id: 'x',
      name: 'X',
      currency: 'dollars',
      timezone: 'UTC',
    });
    expect(account).toMatchObject({
      status: 400,
      contentType: expect.stringContaining('application/problem+json'),
      body: { errors: [{ field: 'currency' }] },
    });
  });
});
