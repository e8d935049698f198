/**
 * Reconciliation (issue 18): the time of `POST /v1/reconciliations` to its report, over a ledger of N usage events
 * (40 accounts, one SUM meter, spread over `--months` months up to November 2026; November reconciled), with the
 * aggregation and invoicing apps in this process:
 *  1. the ledger generated in SQL, the apps' projections built from it;
 *  2. the raw limit: the ledger's usage read through the event store (readAll, pages of 5,000) — what a run that
 *     reads the whole ledger cannot beat;
 *  3. a first reconciliation of 2026-11, a second after `--new` more usage events (rolled up first), a third
 *     with nothing new. Each run's time, and this process's RSS after it.
 *   npm run bench:reconciliation [-- --events 200000 --months 10 --new 100]
 * It asks only the HTTP API, so the same file times the code before and after a change.
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { RunningTally, startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, reportResult, runBenchmark } from './bench-support';

const events = numberArg('events', 200_000);
const appended = numberArg('new', 100);
/** The usage spread over this many months up to November 2026: November, reconciled, holds 1/months of it, every account's. */
const months = numberArg('months', 10);
const namespace = uniqueName('benchrecon');
const ledgerSchema = `${namespace}_ledger`;
const admin = `bench-admin-${namespace}-0123456789`;
const rollup = 'aggregation_usage_rollup';
const usageTypes = ['UsageRecorded', 'UsageReattributed', 'UsageVoided', 'UsageAmended'];

const rate = (n: number, ms: number) => Math.round(n / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');
const mib = () => `${Math.round(process.memoryUsage().rss / 2 ** 20)} MiB`;

const usage = (i: string) => `
  jsonb_build_object('tenant', 'default', 'usageId', gen_random_uuid(), 'source', '//bench', 'eventId', 'e' || ${i},
    'eventType', 'fn.invocation', 'subject', 'inst-' || (${i} % 1000),
    'time', to_char((timestamptz '2026-11-01 00:00Z' - (${i} / 40 % ${months}) * interval '1 month'
                     + (${i} / 40 / ${months} * 40 + ${i} % 40) % 2592000 * interval '1 second') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"'),
    'receivedAt', '2026-11-30T00:00:00.000Z',
    'data', jsonb_build_object('gbSeconds', (12345 + ${i} % 1000)::text || '.' || lpad((${i} % 1000000007)::text, 12, '0')),
    'attribution', jsonb_build_object('status', 'attributed', 'accountId', 'acct' || (${i} % 40),
      'subscriptionId', 'sub' || (${i} % 40), 'planId', 'payg', 'attributes', jsonb_build_object('app', 'app-' || (${i} % 5))))`;

/** Usage events [from, to) in 40 account streams (revision i / 40 of account i % 40). */
const appendUsage = (client: Client, from: number, to: number) =>
  client.query(
    `insert into "${ledgerSchema}".events (stream_name, stream_revision, event_id, event_type, data)
     select 'usage-default_acct' || (i % 40) || '.2026-11', i / 40, gen_random_uuid(), 'UsageRecorded', ${usage('i')}
       from generate_series($1::bigint, $2::bigint) as i`,
    [from, to - 1],
  );

/** More usage, appended through the event store as the ledger writer appends it (its subscribers are woken). */
const appendMore = async (client: Client, count: number) => {
  const { rows } = await client.query<{ data: Record<string, unknown> }>(
    `select ${usage('i')} as data from generate_series($1::bigint, $2::bigint) as i`,
    [events, events + count - 1],
  );
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
  const streams = new Map<string, { id: string; type: string; data: Record<string, unknown> }[]>();
  rows.forEach(({ data }, i) => {
    const stream = `usage-default_acct${(events + i) % 40}.2026-11`;
    streams.set(stream, [...(streams.get(stream) ?? []), { id: randomUUID(), type: 'UsageRecorded', data }]);
  });
  await store.appendToStreams([...streams].map(([stream, list]) => ({ stream, events: list })));
  await store.close();
};

/** Accounts, subscriptions (plan payg: one SUM meter at a unit price), then N usage events. */
const generateLedger = async (client: Client) => {
  const ledger = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
  await ledger.init();
  const at = '2026-10-01T00:00:00.000Z';
  const one = (stream: string, type: string, data: Record<string, unknown>) => ({
    stream,
    events: [{ id: randomUUID(), type, data: { tenant: 'default', ...data } }],
  });
  await ledger.appendToStreams([
    ...Array.from({ length: 40 }, (_, a) =>
      one(`account-default_acct${a}`, 'AccountOpened', {
        accountId: `acct${a}`,
        name: `Account ${a}`,
        currency: 'USD',
        timezone: a % 2 ? 'Europe/Berlin' : 'UTC',
        openedAt: at,
      }),
    ),
    one('meter-default_gb', 'MeterCreated', {
      slug: 'gb',
      name: 'gb',
      description: null,
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
      groupBy: {},
      createdAt: at,
    }),
    one('plan-default_payg', 'PlanCreated', {
      planId: 'payg',
      name: 'Pay as you go',
      currency: 'USD',
      charges: [
        {
          meter: 'gb',
          model: 'unit',
          per: null,
          allowance: '0',
          unitPrice: '0.00001',
          tiers: null,
          packageSize: null,
          packagePrice: null,
          description: null,
        },
      ],
      createdAt: at,
    }),
  ]);
  await ledger.appendToStreams(
    Array.from({ length: 40 }, (_, a) =>
      one(`account-default_acct${a}`, 'SubscriptionStarted', {
        accountId: `acct${a}`,
        subscriptionId: `sub${a}`,
        planId: 'payg',
        startsAt: at,
        endsAt: null,
        at,
      }),
    ),
  );
  await ledger.close();
  for (let from = 0; from < events; from += 1_000_000)
    await appendUsage(client, from, Math.min(events, from + 1_000_000));
  await client.query(`vacuum (analyze) "${ledgerSchema}".events`);
};

const api = async <T>(app: RunningTally, method: string, path: string, body?: unknown): Promise<T> => {
  const response = await fetch(`${app.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

/** Waits until every projection of the app has reached the ledger's head. */
const caughtUp = async (app: RunningTally): Promise<void> => {
  for (;;) {
    const { projections: views } = await api<{
      projections: { name: string; behind: number; position: string | null }[];
    }>(app, 'GET', '/v1/admin/projections');
    // A relay with nothing to relay keeps no position; the rollups must have one (the usage is there).
    if (views.every((p) => p.behind === 0) && views.every((p) => p.name !== rollup || p.position !== null)) return;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
};

/** One reconciliation of November, from the request to its report: its time and what it found. */
const reconcile = async (invoicing: RunningTally) => {
  const started = performance.now();
  const { id } = await api<{ id: string }>(invoicing, 'POST', '/v1/reconciliations', { period: '2026-11' });
  for (;;) {
    const report = await api<{ status: string; error?: string; groupsCompared: number; drifts: unknown[] }>(
      invoicing,
      'GET',
      `/v1/reconciliations/${id}`,
    );
    if (report.status !== 'running') {
      if (report.status !== 'completed') throw new Error(`reconciliation ${report.status}: ${report.error}`);
      return { ms: performance.now() - started, report };
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

runBenchmark(namespace, async () => {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    console.log(
      `reconciliation benchmark: ${fmt(events)} usage events over ${months} months, 40 accounts; namespace ${namespace}`,
    );
    let started = performance.now();
    await generateLedger(client);
    console.log(`ledger generated in SQL: ${fmt(Math.round((performance.now() - started) / 1000))} s`);

    // Raw limit: the ledger's usage read once through the event store, as a whole-ledger run reads it.
    const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
    started = performance.now();
    let read = 0;
    for (let page = await store.readAll({ maxCount: 5_000, eventTypes: usageTypes }); page.length > 0;) {
      read += page.length;
      page = await store.readAll({
        after: page[page.length - 1].globalPosition,
        maxCount: 5_000,
        eventTypes: usageTypes,
      });
    }
    const readMs = performance.now() - started;
    await store.close();
    console.log(
      `raw limit — the ledger's usage read through the event store (pages of 5,000): ${fmt(rate(read, readMs))} events/s (${fmt(Math.round(readMs))} ms for ${fmt(read)})`,
    );

    started = performance.now();
    const apps = await startTally({
      modules: [AggregationModule.register(), InvoicingModule.register()],
      apps: ['aggregation', 'invoicing'],
      required: ['DATABASE_URL'],
      env: {
        DATABASE_URL: testDatabaseUrl(),
        NATS_URL: testNatsUrl(),
        TALLY_NAMESPACE: namespace,
        PORT: '0',
        TALLY_ADMIN_TOKEN: admin,
        TALLY_BILLING_INTERVAL_MS: '86400000',
        TALLY_ARCHIVE: 'off',
      },
      log: () => undefined,
    });
    try {
      await caughtUp(apps);
      console.log(`projections built: ${fmt(Math.round((performance.now() - started) / 1000))} s; rss ${mib()}`);

      const runs: { what: string; ms: number }[] = [];
      const first = await reconcile(apps);
      runs.push({ what: 'first run', ms: first.ms });
      console.log(
        `first run: ${fmt(Math.round(first.ms))} ms (${first.report.groupsCompared} groups, ${first.report.drifts.length} drifts); rss ${mib()}`,
      );
      await appendMore(client, appended);
      await caughtUp(apps);
      const second = await reconcile(apps);
      runs.push({ what: `second run, ${appended} new events`, ms: second.ms });
      console.log(
        `second run, ${fmt(appended)} new usage events: ${fmt(Math.round(second.ms))} ms (${second.report.drifts.length} drifts); rss ${mib()}`,
      );
      const third = await reconcile(apps);
      runs.push({ what: 'third run, nothing new', ms: third.ms });
      console.log(`third run, nothing new: ${fmt(Math.round(third.ms))} ms; rss ${mib()}`);
      if (first.report.drifts.length + second.report.drifts.length + third.report.drifts.length > 0)
        throw new Error('a healthy ledger reconciled with drifts');
      reportResult({
        stage: 'reconciliation',
        figure: Math.round(second.ms),
        unit: 'ms',
        raw: [{ what: 'event-store read of the ledger', value: rate(read, readMs), unit: 'events/s' }],
        note: `${fmt(events)} events over ${months} months; ${runs.map((r) => `${r.what} ${fmt(Math.round(r.ms))} ms`).join(', ')}`,
      });
    } finally {
      await apps.close();
    }
  } finally {
    await client.end();
  }
});
