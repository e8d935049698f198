import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodAt } from '@tally/aggregation/domain';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, startApp, usageEvent } from './support';

const zone = 'Australia/Sydney';

/** The first instant of the current month in a zone (binary search on the period an instant is in). */
const monthStart = (now: number, timeZone: string): number => {
  const period = periodAt(new Date(now), timeZone);
  let [low, high] = [now - 32 * 86_400_000, now];
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (periodAt(new Date(mid), timeZone) === period) high = mid;
    else low = mid;
  }
  return high;
};

/** An account's usage for its billing period: a calendar month in its own time zone, by app and environment. */
describe('account usage by billing period', () => {
  const namespace = uniqueName('period');
  const apps = {} as Record<AppName, RunningTally>;
  const start = monthStart(Date.now(), zone);
  const current = periodAt(new Date(start), zone);
  const previous = periodAt(new Date(start - 1), zone);

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace);
    await http('POST', `${apps.invoicing.url}/v1/plans`, { id: 'payg-aud', name: 'PAYG', currency: 'AUD' });
    await http('POST', `${apps.attribution.url}/v1/accounts`, {
      id: 'syd',
      name: 'Sydney Co',
      currency: 'AUD',
      timezone: zone,
    });
    await http('POST', `${apps.attribution.url}/v1/subscriptions`, {
      id: 'sub-syd',
      accountId: 'syd',
      planId: 'payg-aud',
      startsAt: '2026-01-01T00:00:00Z',
    });
    await http('PUT', `${apps.attribution.url}/v1/subjects/fn-a`, {
      accountId: 'syd',
      attributes: { app: 'forge-a', environment: 'production', site: 'acme.atlassian.net' },
    });
    await http('PUT', `${apps.attribution.url}/v1/subjects/fn-b`, {
      accountId: 'syd',
      attributes: { app: 'forge-b', environment: 'staging', site: 'acme.atlassian.net' },
    });
    await http('POST', `${apps.aggregation.url}/api/v1/meters`, {
      slug: 'gb_seconds',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
    });
    await eventually(
      () => http('GET', `${apps.attribution.url}/v1/subjects/fn-b`),
      (r) => r.status === 200,
      5_000,
    );
    const key = await createProducerKey(apps.ingestion.url);
    const event = (id: string, subject: string, time: number, gbSeconds: string) => ({
      ...usageEvent(id, subject, new Date(time).toISOString()),
      data: { gbSeconds },
    });
    await http(
      'POST',
      `${apps.ingestion.url}/v1/events`,
      [
        event('last-ms-of-previous', 'fn-a', start - 1, '1.5'),
        event('first-ms', 'fn-a', start, '2.25'),
        event('b', 'fn-b', start + 1_000, '0.75'),
      ],
      'application/json',
      key,
    );
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('totals every meter for the period in the account time zone, split at local midnight, broken down by app and environment', async () => {
    const usage = await eventually(
      () => http('GET', `${apps.aggregation.url}/v1/accounts/syd/usage?period=${current}`),
      (r) => r.body?.meters?.[0]?.total === '3',
      10_000,
    );
    expect(usage.body).toMatchObject({
      accountId: 'syd',
      period: current,
      timezone: zone,
      from: new Date(start).toISOString(),
    });
    // 2.25 + 0.75 = 3; the 1.5 a millisecond before local midnight belongs to the previous period
    expect(usage.body.meters).toEqual([
      {
        slug: 'gb_seconds',
        name: 'gb_seconds',
        aggregation: 'SUM',
        total: '3',
        breakdown: [
          { app: 'forge-a', environment: 'production', value: '2.25' },
          { app: 'forge-b', environment: 'staging', value: '0.75' },
        ],
      },
    ]);
    const before = await http('GET', `${apps.aggregation.url}/v1/accounts/syd/usage?period=${previous}`);
    expect(before.body.meters[0].total).toBe('1.5');
  });

  it('breaks usage down by any subject attributes (Forge’s site breakdown), with attribute filters', async () => {
    const url = `${apps.aggregation.url}/v1/accounts/syd/usage?period=${current}`;
    await eventually(
      () => http('GET', url),
      (r) => r.body?.meters?.[0]?.total === '3',
      10_000,
    );
    const bySite = await http('GET', `${url}&breakdownBy=site,app`);
    expect(bySite.body.breakdownBy).toEqual(['site', 'app']);
    expect(bySite.body.meters[0].breakdown).toEqual([
      { site: 'acme.atlassian.net', app: 'forge-a', value: '2.25' },
      { site: 'acme.atlassian.net', app: 'forge-b', value: '0.75' },
    ]);
    // Only production: the total follows the filter (2.25), the staging app is gone.
    const production = await http('GET', `${url}&breakdownBy=site&filterAttribute[environment]=production`);
    expect(production.body.filters).toEqual({ environment: 'production' });
    expect(production.body.meters[0]).toMatchObject({
      total: '2.25',
      breakdown: [{ site: 'acme.atlassian.net', value: '2.25' }],
    });
    const bad = await http('GET', `${url}&breakdownBy=value&colour=red`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['breakdownBy', 'colour']);
  });

  it('defaults to the current period, refuses a malformed one, and 404s an unknown account', async () => {
    expect((await http('GET', `${apps.aggregation.url}/v1/accounts/syd/usage`)).body.period).toBe(
      periodAt(new Date(), zone),
    );
    expect((await http('GET', `${apps.aggregation.url}/v1/accounts/syd/usage?period=2026-13`)).status).toBe(400);
    expect((await http('GET', `${apps.aggregation.url}/v1/accounts/nobody/usage`)).status).toBe(404);
  });
});
