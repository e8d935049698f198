import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, uniqueName } from '@tally/shared/testing';
import { RunningTally } from '@tally/shared/feature-runtime';
import {
  adminToken,
  AppName,
  createProducerKey,
  http,
  openPayingAccount,
  startAllApps,
  stopAllApps,
  usageEvent,
} from './support';

const dashboard = JSON.parse(readFileSync(resolve(__dirname, '../docs/grafana/tally-dashboard.json'), 'utf8'));

/** A sample's value in a Prometheus text exposition, by metric name and some of its labels. */
const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const has = Object.entries(labels).every(([k, v]) => (match[3] ?? '').includes(`${k}="${v}"`));
    if (has) return Number(match[4]);
  }
  return undefined;
};

/**
 * The four apps under load, scraped while it runs: every metric the issue asks for shows up where it belongs,
 * and every metric the Grafana dashboard charts exists.
 */
describe('Prometheus metrics under load', () => {
  const namespace = uniqueName('metrics');
  let apps = {} as Record<AppName, RunningTally>;
  const scrapes = {} as Record<AppName, string>;
  const scrape = async (app: AppName) =>
    (await fetch(`${apps[app].url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } })).text();

  beforeAll(async () => {
    apps = await startAllApps(namespace);
    const key = await createProducerKey(apps.ingestion.url);
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' });
    // Load: 20 requests of 100 events, sent while the apps are scraped.
    const load = Promise.all(
      Array.from({ length: 20 }, (_, r) =>
        http(
          'POST',
          `${apps.ingestion.url}/v1/events`,
          Array.from({ length: 100 }, (_, i) => usageEvent(`m${r}-${i}`, 'inst-1')),
          'application/json',
          key,
        ),
      ),
    );
    const during = await Promise.all((['ingestion', 'attribution', 'aggregation'] as const).map(scrape));
    expect(during.every((text) => text.includes('tally_http_request_duration_seconds'))).toBe(true);
    await load;
    await eventually(
      () => http('GET', `${apps.aggregation.url}/v1/usage?accountId=acme&windowSize=DAY`),
      (answer) => answer.body?.totalEvents === '2000',
      30_000,
    );
    expect((await http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`, {})).status).toBeLessThan(300);
    for (const app of ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const)
      scrapes[app] = await scrape(app);
  }, 90_000);

  afterAll(async () => {
    await stopAllApps(apps, namespace);
  });

  it("has Node's own metrics and request durations by route", () => {
    expect(sample(scrapes.ingestion, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(sample(scrapes.ingestion, 'nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(
      sample(scrapes.ingestion, 'tally_http_request_duration_seconds_count', { route: '/v1/events', status: '200' }),
    ).toBe(20);
  });

  it('counts intake outcomes by tenant, and publishes by subject and outcome', () => {
    expect(sample(scrapes.ingestion, 'tally_intake_events_total', { tenant: 'default', outcome: 'accepted' })).toBe(
      2000,
    );
    expect(
      sample(scrapes.ingestion, 'tally_bus_published_total', {
        subject: 'ingestion.evt.usage-received.v1',
        outcome: 'stored',
      }),
    ).toBeGreaterThanOrEqual(20);
  });

  it('counts what consumers acknowledged, redelivered and dead-lettered, and shows what they have pending', () => {
    expect(sample(scrapes.attribution, 'tally_bus_acked_total', { consumer: 'attribution_ledger' })).toBeGreaterThan(0);
    expect(sample(scrapes.attribution, 'tally_bus_redelivered_total', { consumer: 'attribution_ledger' })).toBe(0);
    expect(sample(scrapes.attribution, 'tally_bus_dead_lettered_total', { consumer: 'attribution_ledger' })).toBe(0);
    expect(sample(scrapes.attribution, 'tally_consumer_pending', { consumer: 'attribution_ledger' })).toBe(0);
    expect(sample(scrapes.attribution, 'tally_consumer_stalled', { consumer: 'attribution_ledger' })).toBe(0);
  });

  it('shows each projection’s lag in events and seconds and its apply durations', () => {
    const rollup = { projection: 'aggregation_usage_rollup' };
    expect(sample(scrapes.aggregation, 'tally_projection_up', rollup)).toBe(1);
    expect(sample(scrapes.aggregation, 'tally_projection_lag_events', rollup)).toBe(0);
    expect(sample(scrapes.aggregation, 'tally_projection_lag_seconds', rollup)).toBe(0);
    expect(sample(scrapes.aggregation, 'tally_projection_apply_seconds_count', rollup)).toBeGreaterThan(0);
    expect(sample(scrapes.aggregation, 'tally_projection_events_applied_total', rollup)).toBeGreaterThanOrEqual(2000);
    expect(sample(scrapes.aggregation, 'tally_projection_accepted_to_visible_seconds', rollup)).toBeGreaterThanOrEqual(
      0,
    );
  });

  it('counts billing runs and what they did to each subscription period', () => {
    expect(sample(scrapes.invoicing, 'tally_billing_runs_total', { outcome: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(sample(scrapes.invoicing, 'tally_dependency_up', { dependency: 'postgres' })).toBe(1);
  });

  it('every metric the Grafana dashboard charts is one the apps serve', () => {
    const exprs: string[] = dashboard.panels.flatMap((p: { targets: { expr: string }[] }) =>
      p.targets.map((t) => t.expr),
    );
    const charted = new Set(
      exprs.flatMap((e) => [...e.matchAll(/\b((?:tally|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1])),
    );
    const served = new Set(
      Object.values(scrapes).flatMap((text) => [...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1])),
    );
    const family = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    expect([...charted].filter((name) => !served.has(name) && !served.has(family(name)))).toEqual([]);
    expect(charted.size).toBeGreaterThan(15);
  });
});
