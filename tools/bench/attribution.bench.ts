/**
 * Attribution-stage benchmark: a backlog of accepted usage in JetStream → attributed UsageRecorded in
 * the ledger, by a real attribution app, beside the raw event-store append rate measured in the same run.
 *   npm run bench:attribution [-- --events 200000]
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { planCreatedType, planStream } from '@tally/contracts/plans';
import { ingestionStream, UsageBatchV1, usageReceivedSubject } from '@tally/contracts/usage';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { JetStreamBus } from '@tally/shared/data-access-messaging';
import { startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, reportResult, runBenchmark } from './bench-support';

const total = numberArg('events', 200_000);
const perMessage = 1_000;
const namespace = uniqueName('benchattr');
const adminToken = `bench-admin-${namespace}-0123456789`;
const subjects = 100;
const accounts = 10;

const usageData = (i: number) => ({ gbSeconds: `0.${i % 10}25`, region: 'eu-1' });

/** Raw limit: appending UsageRecorded-sized events in 1,000-event batches straight to the Postgres event store. */
const rawAppendRate = async (): Promise<number> => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_raw` });
  await store.init();
  const n = 100_000;
  const started = performance.now();
  for (let b = 0; b < n / perMessage; b++) {
    const events = Array.from({ length: perMessage }, (_, i) => ({
      id: randomUUID(),
      type: 'UsageRecorded',
      data: {
        tenant: 'default',
        usageId: randomUUID(),
        source: '//bench',
        eventId: `${b}-${i}`,
        eventType: 'fn.invocation',
        subject: `inst-${i % subjects}`,
        time: new Date().toISOString(),
        data: usageData(i),
        attribution: { status: 'parked', reason: 'unknown_subject' },
      },
    }));
    await store.appendToStreams([{ stream: `usage-default_acct${b % accounts}.2026-11`, events }]);
  }
  const rate = n / ((performance.now() - started) / 1_000);
  await store.close();
  return rate;
};

const ledgerCount = async (client: Client, type: string): Promise<number> =>
  Number(
    (await client.query(`select count(*) from "${namespace}_ledger".events where event_type = $1`, [type])).rows[0]
      .count,
  );

const main = async () => {
  console.log(
    `attribution benchmark: ${total.toLocaleString('en')} events in ${total / perMessage} JetStream messages, namespace ${namespace}`,
  );
  const raw = await rawAppendRate();
  console.log(
    `raw event-store append (Postgres, 1,000-event batches): ${Math.round(raw).toLocaleString('en')} events/s`,
  );

  const env = {
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: testNatsUrl(),
    TALLY_NAMESPACE: namespace,
    PORT: '0',
    TALLY_ADMIN_TOKEN: adminToken,
    // The rebuild below in batches of the live projection's size (its default is 10,000), so the two compare.
    TALLY_PROJECTION_REBUILD_BATCH: '1000',
  };
  const start = () =>
    startTally({
      apps: ['attribution'],
      modules: [AttributionModule.register()],
      required: ['DATABASE_URL', 'NATS_URL'],
      env,
      log: () => undefined,
    });
  const admin = async (url: string, method: string, body: unknown) => {
    const response = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminToken}` },
      body: JSON.stringify(body),
    });
    if (response.status >= 300) throw new Error(`${method} ${url}: ${response.status} ${await response.text()}`);
  };

  // A registry to attribute against: 10 paying accounts, 100 subjects.
  let attribution = await start();
  await attribution.runtime.eventStore.appendToStream(planStream('default', 'payg'), [
    {
      id: randomUUID(),
      type: planCreatedType,
      data: { tenant: 'default', planId: 'payg', name: 'PAYG', currency: 'USD', createdAt: new Date().toISOString() },
    },
  ]);
  for (let a = 0; a < accounts; a++) {
    await admin(`${attribution.url}/v1/accounts`, 'POST', {
      id: `acct${a}`,
      name: `Account ${a}`,
      currency: 'USD',
      timezone: 'UTC',
    });
    await admin(`${attribution.url}/v1/subscriptions`, 'POST', {
      id: `sub${a}`,
      accountId: `acct${a}`,
      planId: 'payg',
      startsAt: '2026-01-01T00:00:00Z',
    });
  }
  for (let s = 0; s < subjects; s++)
    await admin(`${attribution.url}/v1/subjects/inst-${s}`, 'PUT', {
      accountId: `acct${s % accounts}`,
      attributes: { app: `app-${s % 5}` },
    });
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // the registry projection catches up
  await attribution.close();

  // The backlog: accepted usage waiting in JetStream.
  const bus = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
  await bus.ensureStream(ingestionStream);
  const now = new Date().toISOString();
  for (let m = 0; m < total / perMessage; m++) {
    const message: UsageBatchV1 = {
      tenant: 'default',
      receivedAt: now,
      events: Array.from({ length: perMessage }, (_, i) => ({
        specversion: '1.0',
        id: `m${m}-e${i}`,
        source: '//bench',
        type: 'fn.invocation',
        subject: `inst-${i % subjects}`,
        time: now,
        data: usageData(i),
      })),
    };
    await bus.publish(usageReceivedSubject, new TextEncoder().encode(JSON.stringify(message)), { msgId: `bench-${m}` });
  }
  await bus.close();

  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  const started = performance.now();
  attribution = await start();
  let ledgerDone = 0;
  for (;;) {
    const recorded = await ledgerCount(client, 'UsageRecorded');
    if (recorded >= total && !ledgerDone) ledgerDone = performance.now();
    if (ledgerDone) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const ledgerSeconds = (ledgerDone - started) / 1_000;
  const rate = total / ledgerSeconds;
  const projection = async () =>
    Number((await client.query(`select count(*) from "${namespace}_attribution".subject_usage`)).rows[0].count);
  while ((await projection()) < total) await new Promise((resolve) => setTimeout(resolve, 200));
  const indexedSeconds = (performance.now() - started) / 1_000;
  const reattributed = await ledgerCount(client, 'UsageReattributed');

  // The registry projection alone over the same ledger (a rebuild: no writer beside it): its own capacity, against
  // the writer's — whether it can keep up, apart from the two sharing the machine while the backlog drains.
  const rebuildStarted = performance.now();
  await admin(`${attribution.url}/v1/admin/projections/attribution_registry/rebuild`, 'POST', {});
  const rebuildDeadline = Date.now() + 600_000;
  const rebuilding = async () => {
    const response = await fetch(`${attribution.url}/v1/admin/projections`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const { projections } = (await response.json()) as {
      projections: { name: string; rebuildRequested: boolean; lastError: string | null }[];
    };
    const registry = projections.find((p) => p.name === 'attribution_registry');
    if (!registry) throw new Error('attribution_registry is not among the projections');
    if (Date.now() > rebuildDeadline)
      throw new Error(`the registry was not rebuilt within 10 minutes (last error: ${registry.lastError ?? 'none'})`);
    // A failing status read answers "not requested" (projection-runner): done only once it is also healthy.
    return registry.rebuildRequested || registry.lastError !== null;
  };
  while (await rebuilding()) await new Promise((resolve) => setTimeout(resolve, 200));
  const rebuildSeconds = (performance.now() - rebuildStarted) / 1_000;
  await attribution.close();
  await client.end();

  console.log(
    `ledger writer: ${total.toLocaleString('en')} events from JetStream into the ledger in ${ledgerSeconds.toFixed(1)}s = ${Math.round(rate).toLocaleString('en')} events/s`,
  );
  console.log(
    `registry projection (attribution index, re-attribution checks) caught up after ${indexedSeconds.toFixed(1)}s = ${Math.round(total / indexedSeconds).toLocaleString('en')} events/s; ${reattributed} re-attributions`,
  );
  console.log(
    `registry projection alone (rebuilt from the ledger): ${Math.round(total / rebuildSeconds).toLocaleString('en')} events/s (${rebuildSeconds.toFixed(1)}s) — ${(total / rebuildSeconds / rate).toFixed(2)}× the ledger writer's rate`,
  );
  console.log(`ratio of the attribution stage to the raw event-store append rate: ${(rate / raw).toFixed(2)}`);
  const rawAppend = [{ what: 'event-store append, 1,000-event batches', value: raw, unit: 'events/s' }];
  const size = `${total.toLocaleString('en')} events`;
  reportResult({ stage: 'ledger-writer', figure: rate, unit: 'events/s', raw: rawAppend, note: size });
  reportResult({
    stage: 'registry-projection',
    figure: total / indexedSeconds,
    unit: 'events/s',
    raw: rawAppend,
    note: `${size}, caught up after ${indexedSeconds.toFixed(1)} s; alone (rebuilt from the ledger) ${Math.round(total / rebuildSeconds).toLocaleString('en')} events/s`,
  });
};

runBenchmark(namespace, main);
