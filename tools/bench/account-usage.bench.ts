/**
 * Account usage over time: GET /v1/accounts/{id}/usage?windowSize=HOUR&breakdownBy=app for one account with 4 meters
 * (SUM, COUNT, SUM, TIME_WEIGHTED_SUM) and usage every hour of a 31-day period from 3 apps — the console's chart.
 *   npm run bench:account-usage [-- --requests 20]
 * Prints the answer time (p50, max) and the answer's size. Usage goes straight into the ledger (intake is not measured).
 */
import { randomUUID } from 'node:crypto';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { accountStream } from '@tally/contracts/accounts';
import { UsageRecordedV1 } from '@tally/contracts/usage';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, percentile, reportResult, runBenchmark } from './bench-support';

const requests = numberArg('requests', 20);
const namespace = uniqueName('benchwin');
const token = `bench-admin-${namespace}-0123456789`;
const zone = 'Europe/Berlin';
// October 2026 in Berlin: 31 days, 745 hours (clocks go back on the 25th).
const from = Date.parse('2026-09-30T22:00:00Z');
const to = Date.parse('2026-10-31T23:00:00Z');
const apps = ['app-1', 'app-2', 'app-3'];

const recorded = (type: string, hour: number, app: string, data: Record<string, string>): UsageRecordedV1 => ({
  tenant: 'default',
  usageId: randomUUID(),
  source: '//bench',
  eventId: `${type}-${app}-${hour}`,
  eventType: type,
  subject: `${app}-inst`,
  time: new Date(from + hour * 3_600_000 + 600_000).toISOString(),
  receivedAt: new Date().toISOString(),
  data,
  attribution: {
    status: 'attributed',
    accountId: 'acme',
    subscriptionId: 'sub-acme',
    planId: 'payg',
    attributes: { app, environment: 'production' },
  },
});

runBenchmark(namespace, async () => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
  await store.init();
  await store.appendToStream(accountStream('default', 'acme'), [
    {
      id: randomUUID(),
      type: 'AccountOpened',
      data: {
        tenant: 'default',
        accountId: 'acme',
        name: 'Acme',
        currency: 'EUR',
        timezone: zone,
        openedAt: '2026-01-01T00:00:00.000Z',
      },
    },
  ]);
  const hours = (to - from) / 3_600_000;
  const usage: UsageRecordedV1[] = [];
  for (let h = 0; h < hours; h++)
    for (const app of apps)
      usage.push(
        recorded('fn.invocation', h, app, { gbSeconds: `${h % 7}.25` }),
        recorded('api.call', h, app, { count: String(h % 11) }),
        recorded('db.size', h, app, { gb: String(1 + (h % 3)) }),
      );
  for (let i = 0; i < usage.length; i += 1_000)
    await store.appendToStreams([
      {
        stream: `usage-default_acme.2026-10-${i}`,
        events: usage.slice(i, i + 1_000).map((u) => ({ id: u.usageId, type: 'UsageRecorded', data: { ...u } })),
      },
    ]);
  await store.close();

  const app = await startTally({
    apps: ['aggregation'],
    modules: [AggregationModule.register()],
    required: ['DATABASE_URL'],
    env: {
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      TALLY_NAMESPACE: namespace,
      PORT: '0',
      TALLY_ADMIN_TOKEN: token,
    },
    log: () => undefined,
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${app.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, text: await response.text() };
  };
  try {
    for (const meter of [
      { slug: 'gb_seconds', eventType: 'fn.invocation', aggregation: 'SUM', valueProperty: '$.gbSeconds' },
      { slug: 'invocations', eventType: 'fn.invocation', aggregation: 'COUNT' },
      { slug: 'api_calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.count' },
      { slug: 'gb_stored', eventType: 'db.size', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb' },
    ])
      await call('POST', '/api/v1/meters', meter);
    const path = '/v1/accounts/acme/usage?period=2026-10&windowSize=HOUR&breakdownBy=app';
    const expected = String(hours * apps.length);
    for (;;) {
      const answer = await call('GET', path);
      const counted =
        answer.status === 200 &&
        JSON.parse(answer.text).meters.find((m: { slug: string }) => m.slug === 'invocations')?.total;
      if (counted === expected) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const times: number[] = [];
    let size = 0;
    let windows = 0;
    for (let i = 0; i < requests; i++) {
      const started = performance.now();
      const answer = await call('GET', path);
      times.push(performance.now() - started);
      size = answer.text.length;
      windows = JSON.parse(answer.text).meters.reduce(
        (n: number, m: { windows: unknown[] }) => n + m.windows.length,
        0,
      );
    }
    times.sort((a, b) => a - b);
    console.log(
      `account usage, ${hours} hours × ${apps.length} apps × 4 meters (${usage.length} usage events), windowSize=HOUR, breakdown by app`,
    );
    console.log(`answer: ${windows} window rows, ${(size / 1024).toFixed(0)} KiB`);
    console.log(
      `answer time over ${requests} requests: p50 ${percentile(times, 50).toFixed(1)} ms, max ${times[times.length - 1].toFixed(1)} ms`,
    );
    // No raw limit in this benchmark (its figure is an answer time, not a rate against a lower layer).
    reportResult({
      stage: 'account-usage',
      figure: percentile(times, 50),
      unit: 'ms',
      raw: [],
      note: `max ${times[times.length - 1].toFixed(1)} ms; ${windows} window rows, ${(size / 1024).toFixed(0)} KiB; ${requests} requests`,
    });
  } finally {
    await app.close();
  }
});
