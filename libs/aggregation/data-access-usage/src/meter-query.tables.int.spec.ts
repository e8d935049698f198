import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Meter, MeterAggregation, MeterQuery } from '@tally/aggregation/domain';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { MeterQueryTables } from './meter-query.tables';
import { rollupMigrations } from './migrations';
import { RollupTables } from './rollup.tables';
import { MeterHourTables } from './meter-hours.tables';

const namespace = uniqueName('meterq');
const schema = `${namespace}_aggregation`;
const meter = (aggregation: MeterAggregation, valueProperty: string | null = '$.gbSeconds'): Meter => ({
  slug: 'm',
  name: 'm',
  description: null,
  eventType: 'fn.invocation',
  aggregation,
  valueProperty: aggregation === 'COUNT' ? null : valueProperty,
  groupBy: { region: '$.region' },
});
const query = (q: Partial<MeterQuery>): MeterQuery => ({
  from: new Date('2026-10-01T00:00:00Z'),
  to: new Date('2026-12-01T00:00:00Z'),
  windowTimeZone: 'UTC',
  subjects: [],
  groupBy: [],
  filterGroupBy: {},
  accountId: 'acme',
  ...q,
});

describe('meter queries on real Postgres', () => {
  let db: DataSource;
  const rollups = new RollupTables(schema);
  const hours = new MeterHourTables(schema);
  // Both read paths must give the same answers: hourly buckets (used where they can answer) and the facts.
  const paths: [string, MeterQueryTables][] = [
    ['hourly buckets where they answer', new MeterQueryTables(schema)],
    ['the facts only', new MeterQueryTables(schema, { buckets: false })],
  ];
  let meters = paths[0][1];
  let position = 0;
  const record = (
    time: string,
    data: Record<string, unknown>,
    accountId: string | null = 'acme',
    subject = 'inst-1',
    eventType = 'fn.invocation',
  ) => {
    const usageId = randomUUID();
    return rollups
      .add(db, [
        {
          usageId,
          tenant: 't1',
          accountId,
          subject,
          eventType,
          time,
          position: String(++position),
          data,
          attributes: { app: subject === 'inst-2' ? 'forge-b' : 'forge-a' },
        },
      ])
      .then(() => usageId);
  };
  /** The meter is (re)created as the projection would on MeterCreated: its hourly buckets back-filled from the facts. */
  const created = (m: Meter) => hours.meterCreated(db, 't1', m, BigInt(++position));
  const values = async (m: Meter, q: Partial<MeterQuery>) => {
    await created(m);
    return (await meters.query(db, 't1', m, query(q))).map((v) => [
      v.windowStart,
      v.groupBy.region ?? v.subject ?? '',
      v.value,
    ]);
  };

  beforeAll(async () => {
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: rollupMigrations });
    // Europe/Berlin leaves summer time on 2026-10-25 at 03:00 (+02:00 → +01:00): that local day lasts 25 hours.
    await record('2026-10-24T22:30:00Z', { gbSeconds: '0.1', region: 'eu' }); // 25 Oct 00:30 Berlin
    await record('2026-10-25T22:30:00Z', { gbSeconds: '0.2', region: 'eu' }); // 25 Oct 23:30 Berlin (+01:00)
    await record('2026-10-25T23:30:00Z', { gbSeconds: '0.3', region: 'us' }); // 26 Oct 00:30 Berlin
    await record(
      '2026-11-10T12:00:00Z',
      { gbSeconds: '12345678901234567890.000000001', region: 'us' },
      'acme',
      'inst-2',
    );
    await record('2026-11-11T12:00:00Z', { gbSeconds: 'lots', region: 'eu' }); // not a number: no value, never 0
    await record('2026-11-12T12:00:00Z', { region: 'eu' }); // no value at all
    await record('2026-11-12T13:00:00Z', { gbSeconds: '5' }, 'globex'); // another account
    await record('2026-11-12T14:00:00Z', { gbSeconds: '7' }, null); // parked: nobody's
    await record('2026-11-12T15:00:00Z', { gbSeconds: '9' }, 'acme', 'inst-1', 'kv.read'); // another event type
    // A +10:00/+11:00 account: Sydney enters summer time on 4 Oct 2026 at 02:00.
    await record('2026-10-03T13:30:00Z', { gbSeconds: '1', region: 'au' }, 'sydney'); // 3 Oct 23:30 +10:00
    await record('2026-10-03T14:30:00Z', { gbSeconds: '2', region: 'au' }, 'sydney'); // 4 Oct 00:30 +10:00
    await record('2026-10-04T12:30:00Z', { gbSeconds: '4', region: 'au' }, 'sydney'); // 4 Oct 23:30 +11:00
    await record('2026-10-04T13:30:00Z', { gbSeconds: '8', region: 'au' }, 'sydney'); // 5 Oct 00:30 +11:00
    const voided = await record('2026-11-13T12:00:00Z', { gbSeconds: '100', region: 'eu' });
    await rollups.void(db, [voided], String(++position));
    const amended = await record('2026-11-14T12:00:00Z', { gbSeconds: '1000', region: 'eu' });
    await rollups.amend(db, amended, { gbSeconds: '0.4', region: 'eu' }, String(++position));
  });
  afterAll(async () => {
    await db?.destroy();
    await dropSchemas(namespace);
  });

  it('cuts a meter’s hourly buckets again when an update adds a group-by key (a rename keeps them)', async () => {
    const buckets = new MeterQueryTables(schema);
    const base = meter('SUM');
    await hours.meterCreated(db, 't1', base, BigInt(++position));
    await hours.meterUpdated(db, 't1', { ...base, name: 'renamed' }, BigInt(++position));
    const zoned = { ...base, name: 'renamed', groupBy: { ...base.groupBy, zone: '$.region' } };
    await hours.meterUpdated(db, 't1', zoned, BigInt(++position));
    // Read from the buckets (SUM over whole hours in UTC): split by the new key as by the old one.
    const rows = await buckets.query(db, 't1', zoned, query({ groupBy: ['zone'] }));
    expect(rows.map((r) => [r.groupBy.zone, r.value])).toEqual([
      ['eu', '0.7'],
      ['us', '12345678901234567890.300000001'],
    ]);
  });

  describe.each(paths)('read from %s', (_name, path) => {
    beforeAll(() => {
      meters = path;
    });

    it.each<[MeterAggregation, string]>([
      // 0.1 + 0.2 + 0.3 + 12345678901234567890.000000001 + 0.4 (amended from 1000; 'lots', missing, voided, other account/type/parked excluded)
      ['SUM', '12345678901234567891.000000001'],
      // every acme fn.invocation event that is not voided: 7 (the two without a number count as events)
      ['COUNT', '7'],
      ['MIN', '0.1'],
      ['MAX', '12345678901234567890.000000001'],
      // the five numbers / 5 = 2469135780246913578.2000000002
      ['AVG', '2469135780246913578.2000000002'],
      // the latest event with a value: 0.4 on 14 Nov (the two later-in-time value-less ones do not count)
      ['LATEST', '0.4'],
      // distinct readings among the 7 events, including 'lots' as an identity: 0.1, 0.2, 0.3, 1234…, lots, 0.4 = 6 (missing ones are not counted)
      ['UNIQUE_COUNT', '6'],
    ])('%s over the whole range is %s', async (aggregation, expected) =>
      expect((await values(meter(aggregation), {}))[0][2]).toBe(expected),
    );

    it('cuts DAY windows in the account time zone across the DST change (a 25-hour day)', async () =>
      expect(
        await values(meter('SUM'), {
          windowSize: 'DAY',
          windowTimeZone: 'Europe/Berlin',
          to: new Date('2026-10-27T00:00:00Z'),
        }),
      ).toEqual([
        // 25 Oct Berlin runs from 24 Oct 22:00Z to 25 Oct 23:00Z: 25 hours, holding 0.1 and 0.2
        ['2026-10-24T22:00:00.000Z', '', '0.3'],
        ['2026-10-25T23:00:00.000Z', '', '0.3'],
      ]));

    it('gives windows their true end across DST', async () => {
      await created(meter('SUM'));
      const [first] = await meters.query(
        db,
        't1',
        meter('SUM'),
        query({ windowSize: 'DAY', windowTimeZone: 'Europe/Berlin', to: new Date('2026-10-26T00:00:00Z') }),
      );
      expect([first.windowStart, first.windowEnd]).toEqual(['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    });

    it('cuts windows for a +10:00/+11:00 account (Sydney enters summer time on 4 Oct 2026: a 23-hour day)', async () => {
      await created(meter('SUM'));
      const windows = await meters.query(
        db,
        't1',
        meter('SUM'),
        query({ accountId: 'sydney', windowSize: 'DAY', windowTimeZone: 'Australia/Sydney' }),
      );
      expect(windows.map((w) => [w.windowStart, w.windowEnd, w.value])).toEqual([
        ['2026-10-02T14:00:00.000Z', '2026-10-03T14:00:00.000Z', '1'],
        // 4 Oct: 00:00 +10:00 to 00:00 +11:00 = 23 hours, holding 2 and 4
        ['2026-10-03T14:00:00.000Z', '2026-10-04T13:00:00.000Z', '6'],
        ['2026-10-04T13:00:00.000Z', '2026-10-05T13:00:00.000Z', '8'],
      ]);
    });

    it('windows by MONTH in the zone, and by HOUR', async () => {
      expect(await values(meter('COUNT'), { windowSize: 'MONTH', windowTimeZone: 'Europe/Berlin' })).toEqual([
        // October in Berlin runs from 30 Sep 22:00Z to 31 Oct 23:00Z: the three late-October events (the last is 26 Oct 00:30 local)
        ['2026-09-30T22:00:00.000Z', '', '3'],
        // November: 10, 11, 12 and 14 Nov (the voided 13 Nov one is out)
        ['2026-10-31T23:00:00.000Z', '', '4'],
      ]);
      expect(
        (
          await values(meter('SUM'), {
            windowSize: 'HOUR',
            from: new Date('2026-11-10T00:00:00Z'),
            to: new Date('2026-11-11T00:00:00Z'),
          })
        ).map((v) => v[0]),
      ).toEqual(['2026-11-10T12:00:00.000Z']);
    });

    it('windows by MINUTE (read from the facts)', async () =>
      expect(
        await values(meter('SUM'), {
          windowSize: 'MINUTE',
          from: new Date('2026-11-14T11:59:00Z'),
          to: new Date('2026-11-14T12:02:00Z'),
        }),
      ).toEqual([
        // the amended 0.4 at 12:00:00 sits in the 12:00 minute, with its window
        ['2026-11-14T12:00:00.000Z', '', '0.4'],
      ]));

    it('groups by a group-by key and by subject, and filters by group value and subject', async () => {
      expect(await values(meter('SUM'), { groupBy: ['region'] })).toEqual([
        ['2026-10-01T00:00:00.000Z', 'eu', '0.7'],
        ['2026-10-01T00:00:00.000Z', 'us', '12345678901234567890.300000001'],
      ]);
      expect(await values(meter('COUNT'), { groupBy: ['subject'] })).toEqual([
        ['2026-10-01T00:00:00.000Z', 'inst-1', '6'],
        ['2026-10-01T00:00:00.000Z', 'inst-2', '1'],
      ]);
      expect((await values(meter('SUM'), { filterGroupBy: { region: 'us' } }))[0][2]).toBe(
        '12345678901234567890.300000001',
      );
      expect((await values(meter('SUM'), { subjects: ['inst-2'] }))[0][2]).toBe('12345678901234567890.000000001');
    });

    it('filters by conditions on group-by values (OpenMeter’s advancedMeterGroupByFilters) and by accounts', async () => {
      const sum = async (q: Partial<MeterQuery>) => (await values(meter('SUM'), q))[0]?.[2];
      // eu: 0.1 + 0.2 + 0.4; us: 0.3 + 12345678901234567890.000000001 (acme); au: sydney's only.
      expect(await sum({ groupFilters: { region: { $eq: 'eu' } } })).toBe('0.7');
      expect(await sum({ groupFilters: { region: { $in: ['eu', 'au'] } } })).toBe('0.7');
      expect(await sum({ groupFilters: { region: { $nin: ['us'] } } })).toBe('0.7');
      expect(await sum({ groupFilters: { region: { $ne: 'us' } } })).toBe('0.7');
      expect(await sum({ groupFilters: { region: { $like: 'e%' } } })).toBe('0.7');
      expect(await sum({ groupFilters: { region: { $ilike: 'E_' } } })).toBe('0.7');
      expect(await sum({ groupFilters: { region: { $nlike: 'e%' } } })).toBe('12345678901234567890.300000001');
      expect(await sum({ groupFilters: { region: { $gt: 'eu' } } })).toBe('12345678901234567890.300000001');
      expect(await sum({ groupFilters: { region: { $or: [{ $eq: 'eu' }, { $eq: 'us' }] } } })).toBe(
        '12345678901234567891.000000001',
      );
      expect(await sum({ groupFilters: { region: { $and: [{ $gte: 'eu' }, { $lte: 'eu' }] } } })).toBe('0.7');
      expect(await sum({ accountId: undefined, accountIds: ['sydney'], from: new Date('2026-10-01T00:00:00Z') })).toBe(
        '15',
      );
    });

    it('counts usage at exactly `to` only when `to` is inclusive (OpenMeter’s routes)', async () => {
      // The 0.3 event is at 2026-10-25T23:30:00Z.
      const range = { from: new Date('2026-10-25T00:00:00Z'), to: new Date('2026-10-25T23:30:00Z') };
      expect((await values(meter('SUM'), range))[0][2]).toBe('0.2');
      expect((await values(meter('SUM'), { ...range, toInclusive: true }))[0][2]).toBe('0.5');
    });

    it('leaves out usage before the meter’s eventFrom, whatever the range asked', async () => {
      const since = new Date('2026-10-25T00:00:00Z'); // after the 0.1 event, before 0.2 and 0.3
      const range = { from: new Date('2026-10-24T00:00:00Z'), to: new Date('2026-10-26T00:00:00Z') };
      expect((await values(meter('SUM'), range))[0][2]).toBe('0.6');
      expect((await values(meter('SUM'), { ...range, since }))[0][2]).toBe('0.5');
      // Every reader of the tables (billing, budgets) gets the same: the meter's own eventFrom applies unasked.
      const fromOct25 = { ...meter('SUM'), eventFrom: since.toISOString() };
      expect((await values(fromOct25, range))[0][2]).toBe('0.5');
    });

    it('answers nothing rather than 0 when no event carries a value', async () =>
      expect(
        await values(meter('MAX'), { from: new Date('2026-11-11T00:00:00Z'), to: new Date('2026-11-13T00:00:00Z') }),
      ).toEqual([]));
  });

  it('answers ranges that do not end on whole hours, and an inclusive `to` (OpenMeter’s routes), from the buckets and the facts of the ends, as the facts alone do', async () => {
    const [buckets, facts] = [paths[0][1], paths[1][1]];
    // Ends with usage at exactly that instant: a huge value of inst-2 (forge-b), an event without a value, a voided
    // one, an amended one, an hour where only other accounts, parked usage and another type have some; and ends
    // inside an hour, on either side of usage in it (0.2 at 22:30 and 0.3 at 23:30 on 25 Oct).
    const ranges = [
      ...[
        '2026-11-10T12:00:00Z',
        '2026-11-12T12:00:00Z',
        '2026-11-13T12:00:00Z',
        '2026-11-14T12:00:00Z',
        '2026-11-12T14:00:00Z',
      ].map((to) => ({ from: '2026-10-01T00:00:00Z', to })),
      { from: '2026-10-25T22:15:00Z', to: '2026-11-10T12:20:00Z' },
      { from: '2026-10-25T22:45:00Z', to: '2026-10-26T23:30:00Z' },
      { from: '2026-10-24T22:30:00Z', to: '2026-10-25T23:30:00Z' },
    ];
    let compared = 0;
    for (const aggregation of ['SUM', 'COUNT', 'AVG'] as const) {
      const m = { ...meter(aggregation), slug: `around-${aggregation.toLowerCase()}` };
      await created(m);
      for (const { from, to } of ranges)
        for (const toInclusive of [true, false])
          for (const windowSize of [undefined, 'HOUR', 'DAY', 'MONTH'] as const)
            for (const split of [{ groupBy: [] }, { groupBy: ['region'] }, { groupBy: [], attributeGroups: ['app'] }]) {
              const q = query({
                from: new Date(from),
                to: new Date(to),
                toInclusive,
                windowSize,
                windowTimeZone: 'Europe/Berlin',
                ...split,
              });
              const expected = await facts.query(db, 't1', m, q);
              const label = `${aggregation} ${from}–${to}${toInclusive ? ' inclusive' : ''} ${windowSize} ${JSON.stringify(split)}`;
              expect(await buckets.query(db, 't1', m, q), label).toEqual(expected);
              compared += expected.length;
            }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('reads the buckets of a range’s whole hours, and only its ends from the facts', async () => {
    const m: Meter = { ...meter('SUM'), slug: 'around-read', eventType: 'fn.marked' };
    await record('2026-11-16T00:00:00Z', { gbSeconds: '3', region: 'eu' }, 'acme', 'inst-1', 'fn.marked');
    await record('2026-11-15T10:00:00Z', { gbSeconds: '5', region: 'eu' }, 'acme', 'inst-1', 'fn.marked');
    await record('2026-11-14T23:50:00Z', { gbSeconds: '7', region: 'eu' }, 'acme', 'inst-1', 'fn.marked');
    await created(m); // its buckets back-filled from those facts
    // A bucket no fact stands behind: only a read of the buckets counts it (the facts alone do not).
    await db.query(
      `insert into "${schema}".meter_hours (tenant, meter, account_id, hour, groups, attributes, events, readings, total)
       values ('t1', 'around-read', 'acme', '2026-11-15T11:00:00Z', '{"region": "eu"}', '{"app": "forge-a"}', 1, 1, 100)`,
    );
    const sums = async (q: Partial<MeterQuery>) =>
      Promise.all(paths.map(async ([, path]) => (await path.query(db, 't1', m, query(q))).map((v) => v.value)));
    // OpenMeter's inclusive `to`: 5 and 100 from the buckets, 3 (at `to`, in the next hour's bucket) from the facts.
    const day = { from: new Date('2026-11-15T00:00:00Z'), to: new Date('2026-11-16T00:00:00Z') };
    expect(await sums({ ...day, toInclusive: true })).toEqual([['108'], ['8']]);
    // A range that begins inside an hour: 7 from the facts of that part hour, the whole hours from the buckets.
    expect(await sums({ ...day, from: new Date('2026-11-14T23:40:00Z') })).toEqual([['112'], ['12']]);
    // The many-totals statement takes only whole hours and an exclusive `to`.
    const one = paths[0][1];
    expect(one.answersFromBuckets(m, query({ ...day, toInclusive: true }))).toBe(false);
    expect(one.answersFromBuckets(m, query(day))).toBe(true);
  });

  it('answers many totals from the buckets in one statement exactly as one query per meter and interval does', async () => {
    const meters: Meter[] = [
      { ...meter('SUM'), slug: 'total-sum' },
      { ...meter('COUNT'), slug: 'total-count' },
      { ...meter('AVG'), slug: 'total-avg' },
      { ...meter('SUM'), slug: 'total-since', eventFrom: '2026-10-26T00:00:00.000Z' },
    ];
    // Two events of one subject in one hour: one bucket holding two (COUNT sums the buckets' counts, not their rows).
    await record('2026-11-20T10:05:00Z', { gbSeconds: '1.5', region: 'eu' }, 'twice');
    await record('2026-11-20T10:45:00Z', { gbSeconds: '2.5', region: 'eu' }, 'twice');
    for (const m of meters) await created(m);
    const intervals = [
      [new Date('2026-10-01T00:00:00Z'), new Date('2026-11-01T00:00:00Z')],
      [new Date('2026-11-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z')],
      [new Date('2026-10-25T22:00:00Z'), new Date('2026-11-12T13:00:00Z')],
      [new Date('2027-01-01T00:00:00Z'), new Date('2027-02-01T00:00:00Z')],
    ];
    const asks = meters.flatMap((m) =>
      ['acme', 'sydney', 'globex', 'twice', 'nobody'].flatMap((accountId) =>
        intervals.flatMap(([from, to]) => [null, 'app'].map((per) => ({ meter: m, accountId, from, to, per }))),
      ),
    );
    const one = paths[0][1];
    const queries = asks.map((a) =>
      query({ from: a.from, to: a.to, accountId: a.accountId, attributeGroups: a.per ? [a.per] : [] }),
    );
    expect(asks.every((a, i) => one.answersFromBuckets(a.meter, queries[i]))).toBe(true);
    const separately: [number, string | null, string][] = [];
    for (const [key, a] of asks.entries())
      for (const row of await one.query(db, 't1', a.meter, queries[key]))
        separately.push([key, a.per ? (row.attributes?.[a.per] ?? null) : null, row.value]);
    const together = await one.totalsFromBuckets(
      db,
      't1',
      asks.map((a, key) => ({ key, ...a, ...(a.meter.eventFrom && { since: new Date(a.meter.eventFrom) }) })),
    );
    expect(together.map((t) => [t.key, t.perValue, t.value])).toEqual(separately);
    // Not an empty comparison: every meter and both splits answered something.
    expect(new Set(together.map((t) => asks[t.key].meter.slug)).size).toBe(4);
    expect(together.some((t) => t.perValue === 'forge-b')).toBe(true);
  });
});
