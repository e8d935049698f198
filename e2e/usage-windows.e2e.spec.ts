import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Decimal from 'decimal.js';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, startApp } from './support';

const zone = 'America/New_York';
/** 1 Nov 2026, 00:00 EDT (UTC−4); clocks go back at 02:00 EDT to 01:00 EST (UTC−5): that day is 25 hours. */
const nov1 = Date.parse('2026-11-01T04:00:00Z');
const hour = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * An account's usage over time (`windowSize`, `meters`): hours and days of the account's zone across the end of
 * daylight saving time, split by app, for counted and time-weighted meters. The apps run on a clock in November,
 * so usage of 1 Nov stays inside the lateness horizon whenever the suite runs.
 */
describe('account usage over time', () => {
  const namespace = uniqueName('windows');
  const apps = {} as Record<AppName, RunningTally>;
  const now = new Date('2026-11-20T12:00:00Z');
  const usage = (query: string) => http('GET', `${apps.aggregation.url}/v1/accounts/nyc/usage?period=2026-11&${query}`);
  type Row = Record<string, string | null>;
  const meterOf = (body: { meters: { slug: string }[] }, slug: string) =>
    body.meters.find((m) => m.slug === slug) as unknown as { total: string; windows?: Row[] };

  beforeAll(async () => {
    const env = { TALLY_BILLING_INTERVAL_MS: '3600000' };
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, env, () => now);
    const post = async (app: AppName, path: string, body: unknown) =>
      expect((await http('POST', `${apps[app].url}${path}`, body)).status).toBeLessThan(300);
    await post('invoicing', '/v1/plans', { id: 'payg', name: 'PAYG', currency: 'USD' });
    await post('attribution', '/v1/accounts', { id: 'nyc', name: 'NYC', currency: 'USD', timezone: zone });
    await post('attribution', '/v1/subscriptions', {
      id: 'sub-nyc',
      accountId: 'nyc',
      planId: 'payg',
      startsAt: '2026-01-01T00:00:00Z',
    });
    for (const [subject, app] of [
      ['fn-a', 'forge-a'],
      ['fn-b', 'forge-b'],
      ['db-a', 'forge-a'],
    ])
      expect(
        (await http('PUT', `${apps.attribution.url}/v1/subjects/${subject}`, { accountId: 'nyc', attributes: { app } }))
          .status,
      ).toBe(201);
    const meters = [
      { slug: 'gb_seconds', eventType: 'fn.invocation', aggregation: 'SUM', valueProperty: '$.gbSeconds' },
      { slug: 'invocations', eventType: 'fn.invocation', aggregation: 'COUNT' },
      { slug: 'gb_stored', eventType: 'db.size', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb' },
    ];
    for (const meter of meters) await post('aggregation', '/api/v1/meters', meter);
    await eventually(
      () => http('GET', `${apps.attribution.url}/v1/subjects/db-a`),
      (r) => r.status === 200,
      5_000,
    );
    const key = await createProducerKey(apps.ingestion.url);
    let n = 0;
    const event = (type: string, subject: string, time: number, data: Record<string, string>) => ({
      specversion: '1.0',
      id: `e-${++n}`,
      source: '//fn-runtime/us-1',
      type,
      subject,
      time: iso(time),
      data,
    });
    const fn = (subject: string, time: number, gbSeconds: string) =>
      event('fn.invocation', subject, time, { gbSeconds });
    const sent = await http(
      'POST',
      `${apps.ingestion.url}/v1/events`,
      [
        fn('fn-a', nov1 - 30 * 60_000, '100'), // 31 Oct 23:30 EDT: the previous period
        fn('fn-a', nov1 + 30 * 60_000, '1.5'), // 1 Nov 00:30 EDT
        fn('fn-a', nov1 + 90 * 60_000, '2'), // 1 Nov 01:30 EDT (the first 01:30)
        fn('fn-b', nov1 + 150 * 60_000, '0.25'), // 1 Nov 01:30 EST (the second 01:30, an hour later)
        fn('fn-a', nov1 + 24 * hour + 30 * 60_000, '3'), // 1 Nov 23:30 EST: still 1 Nov, the 25th hour of its day
        fn('fn-b', nov1 + 25 * hour + 30 * 60_000, '4'), // 2 Nov 00:30 EST
        // A database holds 2 GB from 1 Nov 00:00 EDT for two hours (across 01:00 EDT → 01:00 EST), then none.
        event('db.size', 'db-a', nov1, { gb: '2' }),
        event('db.size', 'db-a', nov1 + 2 * hour, { gb: '0' }),
      ],
      'application/json',
      key,
    );
    expect(sent.body.results.every((r: { status: string }) => r.status === 'accepted')).toBe(true);
    await eventually(
      () => usage('meters=invocations'),
      (r) => r.body?.meters?.[0]?.total === '5',
      15_000,
    );
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('cuts days at local midnight: 1 Nov (DST ends) is 25 hours, split by app', async () => {
    const answer = await usage('windowSize=DAY&breakdownBy=app');
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ windowSize: 'DAY', from: '2026-11-01T04:00:00.000Z' });
    const day1 = { windowStart: '2026-11-01T04:00:00.000Z', windowEnd: '2026-11-02T05:00:00.000Z' };
    const day2 = { windowStart: '2026-11-02T05:00:00.000Z', windowEnd: '2026-11-03T05:00:00.000Z' };
    // forge-a on 1 Nov: 1.5 + 2 + 3 = 6.5; forge-b: 0.25 on 1 Nov, 4 on 2 Nov; the 100 of 31 Oct is October's
    expect(sortRows(meterOf(answer.body, 'gb_seconds').windows)).toEqual([
      { ...day1, app: 'forge-a', value: '6.5' },
      { ...day1, app: 'forge-b', value: '0.25' },
      { ...day2, app: 'forge-b', value: '4' },
    ]);
    expect(sortRows(meterOf(answer.body, 'invocations').windows)).toEqual([
      { ...day1, app: 'forge-a', value: '3' },
      { ...day1, app: 'forge-b', value: '1' },
      { ...day2, app: 'forge-b', value: '1' },
    ]);
    // 2 GB × 2 h = 4 GB-hours, all on 1 Nov; the days after hold 0 GB and are not listed
    expect(meterOf(answer.body, 'gb_stored').windows).toEqual([{ ...day1, app: 'forge-a', value: '4' }]);
  });

  it('cuts hours of the zone: the two 01:30s of 1 Nov are different hours', async () => {
    const answer = await usage('windowSize=HOUR&breakdownBy=app&meters=gb_seconds,gb_stored');
    expect(answer.body.meters.map((m: { slug: string }) => m.slug).sort()).toEqual(['gb_seconds', 'gb_stored']);
    const at = (h: number) => ({ windowStart: iso(nov1 + h * hour), windowEnd: iso(nov1 + (h + 1) * hour) });
    expect(sortRows(meterOf(answer.body, 'gb_seconds').windows)).toEqual([
      { ...at(0), app: 'forge-a', value: '1.5' },
      { ...at(1), app: 'forge-a', value: '2' }, // 01:00–02:00 EDT
      { ...at(2), app: 'forge-b', value: '0.25' }, // 01:00–02:00 EST
      { ...at(24), app: 'forge-a', value: '3' },
      { ...at(25), app: 'forge-b', value: '4' },
    ]);
    expect(sortRows(meterOf(answer.body, 'gb_stored').windows)).toEqual([
      { ...at(0), app: 'forge-a', value: '2' },
      { ...at(1), app: 'forge-a', value: '2' },
    ]);
  });

  it.each(['HOUR', 'DAY'])('every %s window sums to the meter’s total (SUM, COUNT, gauges)', async (windowSize) => {
    const answer = await usage(`windowSize=${windowSize}&breakdownBy=app`);
    for (const meter of answer.body.meters as { slug: string; total: string; windows: Row[] }[]) {
      const sum = meter.windows.reduce((acc, w) => acc.plus(w.value as string), new Decimal(0));
      expect({ slug: meter.slug, sum: sum.toString() }).toEqual({ slug: meter.slug, sum: meter.total });
    }
    // 1.5 + 2 + 0.25 + 3 + 4 = 10.75; 5 invocations; 4 GB-hours
    expect(answer.body.meters.map((m: { total: string }) => m.total).sort()).toEqual(['10.75', '4', '5']);
  });

  it('windows obey the attribute filters like the totals', async () => {
    const answer = await usage('windowSize=DAY&meters=gb_seconds&filterAttribute[app]=forge-b');
    const meter = meterOf(answer.body, 'gb_seconds');
    expect(meter.total).toBe('4.25');
    expect(meter.windows?.map((w) => w.value)).toEqual(['0.25', '4']);
  });

  it('answers as before without windowSize: no windows key', async () => {
    const answer = await usage('meters=gb_seconds');
    expect(answer.body.windowSize).toBeUndefined();
    expect(Object.keys(answer.body.meters[0]).sort()).toEqual(['aggregation', 'breakdown', 'name', 'slug', 'total']);
  });

  it.each([
    ['meters=gb_seconds,no_such_meter', 'meters', 'no_such_meter'],
    ['meters=Not A Slug', 'meters', 'meters'],
    ['windowSize=MINUTE', 'windowSize', 'windowSize'],
    ['windowSize=WEEK', 'windowSize', 'windowSize'],
    ['breakdownBy=windowStart', 'breakdownBy', 'breakdownBy'],
  ])('refuses %s with a 400 validation naming %s', async (query, field, named) => {
    const answer = await usage(query);
    expect(answer.status).toBe(400);
    expect(answer.body.type).toMatch(/validation$/);
    expect(JSON.stringify(answer.body.errors)).toContain(field);
    expect(JSON.stringify(answer.body)).toContain(named);
  });
});

/** Rows by window, then app: the answer's order within a window is not part of the contract. */
const sortRows = (rows: Record<string, string | null>[] | undefined) =>
  [...(rows ?? [])].sort(
    (a, b) => String(a.windowStart).localeCompare(String(b.windowStart)) || String(a.app).localeCompare(String(b.app)),
  );
