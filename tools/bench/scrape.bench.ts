/**
 * Metrics scrape benchmark: what one `GET /metrics` of the aggregation app costs while its projections work
 * through a backlog of ledger events and once they have caught up, beside the raw limits of the same run:
 * a Postgres round trip, and the read the old `behind` gauge made per projection (10,000 ledger rows).
 *   npm run bench:scrape [-- --events 200000 --scrapes 50]
 */
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { numberArg, percentile, reportResult, runBenchmark } from './bench-support';

const events = numberArg('events', 200_000);
const scrapes = numberArg('scrapes', 50);
const namespace = uniqueName('benchscrape');
const adminToken = `bench-admin-${namespace}-0123456789`;

const timed = async (times: number, work: () => Promise<unknown>): Promise<{ p50: number; p99: number }> => {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await work();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99) };
};
const show = ({ p50, p99 }: { p50: number; p99: number }) => `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`;

runBenchmark(namespace, async () => {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
  await store.init();
  for (let b = 0; b < events / 1_000; b++)
    await store.appendToStreams([
      {
        stream: `usage-default_acct${b % 10}.2026-11`,
        events: Array.from({ length: 1_000 }, (_, i) => {
          const usageId = randomUUID();
          return {
            id: usageId,
            type: 'UsageRecorded',
            data: {
              tenant: 'default',
              usageId,
              source: '//bench',
              eventId: `e${b}-${i}`,
              eventType: 'fn.invocation',
              subject: `inst-${i % 100}`,
              time: new Date().toISOString(),
              receivedAt: new Date().toISOString(),
              data: { gbSeconds: '0.5' },
              attribution: {
                status: 'attributed',
                accountId: `acct${b % 10}`,
                subscriptionId: 's',
                planId: 'p',
                attributes: { app: 'a' },
              },
            },
          };
        }),
      },
    ]);
  console.log(`metrics scrape benchmark: ${events.toLocaleString('en')} ledger events, namespace ${namespace}`);
  const roundTrip = await timed(scrapes, () => client.query('select 1'));
  const oldBehind = await timed(10, () => store.readAll({ maxCount: 10_000, eventTypes: ['UsageRecorded'] }));
  console.log(`raw Postgres round trip: ${show(roundTrip)}`);
  console.log(`the old per-projection "behind" read (10,000 ledger rows): ${show(oldBehind)}`);

  const app = await startTally({
    apps: ['aggregation'],
    modules: [AggregationModule.register()],
    required: ['DATABASE_URL'],
    env: { DATABASE_URL: testDatabaseUrl(), TALLY_NAMESPACE: namespace, TALLY_ADMIN_TOKEN: adminToken, PORT: '0' },
    log: () => undefined,
  });
  const scrape = async () => {
    const answer = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
    return answer.text();
  };
  const during = await timed(scrapes, scrape);
  const lag = /tally_projection_lag_events\{projection="aggregation_usage_rollup"\} (\d+)/.exec(await scrape())?.[1];
  console.log(
    `scrape while the rollups work through the backlog (lag ${lag ?? '?'} events at the end): ${show(during)}`,
  );
  reportResult({
    stage: 'scrape',
    figure: during.p99,
    unit: 'ms',
    raw: [{ what: 'Postgres round trip p99', value: roundTrip.p99, unit: 'ms' }],
    note: `p50 ${during.p50.toFixed(1)} ms; ${events.toLocaleString('en')} events backlog, ${scrapes} scrapes`,
  });
  const facts = async () =>
    Number((await client.query(`select count(*) from "${namespace}_aggregation".usage_facts`)).rows[0].count);
  while ((await facts().catch(() => 0)) < events) await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(`scrape once caught up: ${show(await timed(scrapes, scrape))}`);
  await app.close();
  await store.close();
  await client.end();
});
