import { describe, expect, it } from 'vitest';
import { Meter } from './meter';
import { beginningOfTime, parseMeterQuery } from './meter-query';

const meter: Meter = {
  slug: 'gb_seconds',
  name: 'GB-s',
  description: null,
  eventType: 'fn.invocation',
  aggregation: 'SUM',
  valueProperty: '$.gbSeconds',
  groupBy: { region: '$.region' },
};
const now = new Date('2026-11-25T10:00:00Z');

describe('parseMeterQuery', () => {
  it('reads an OpenMeter query, with repeatable subjects and filterGroupBy[key]', () =>
    expect(
      parseMeterQuery(
        meter,
        {
          from: '2026-11-01T00:00:00+01:00',
          to: '2026-11-02T00:00:00+01:00',
          windowSize: 'hour',
          windowTimeZone: 'Europe/Berlin',
          subject: ['a', 'b'],
          groupBy: 'region,subject',
          'filterGroupBy[region]': 'eu',
          accountId: 'acme',
        },
        now,
      ),
    ).toEqual({
      ok: true,
      query: {
        from: new Date('2026-10-31T23:00:00Z'),
        to: new Date('2026-11-01T23:00:00Z'),
        windowSize: 'HOUR',
        windowTimeZone: 'Europe/Berlin',
        subjects: ['a', 'b'],
        groupBy: ['region', 'subject'],
        filterGroupBy: { region: 'eu' },
        accountId: 'acme',
      },
    }));

  it('defaults to the last 30 days, one value, UTC', () =>
    expect(parseMeterQuery(meter, {}, now)).toMatchObject({
      ok: true,
      query: { from: new Date('2026-10-26T10:00:00Z'), to: now, windowSize: undefined, windowTimeZone: 'UTC' },
    }));

  it.each([
    [{ from: 'yesterday' }, 'from'],
    [{ from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' }, 'to'],
    [{ windowSize: 'WEEK' }, 'windowSize'],
    [{ windowSize: 'MINUTE', from: '2026-11-01T00:00:00Z', to: '2026-11-20T00:00:00Z' }, 'windowSize'],
    [{ windowTimeZone: 'Mars/Olympus' }, 'windowTimeZone'],
    [{ groupBy: 'colour' }, 'groupBy'],
    [{ 'filterGroupBy[colour]': 'red' }, 'filterGroupBy[colour]'],
    [{ to: ['2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z'] }, 'to'],
    // Names every object answers to through its prototype are not the meter's keys.
    [{ groupBy: '__proto__' }, 'groupBy'],
    [{ groupBy: 'toString' }, 'groupBy'],
    [{ 'filterGroupBy[constructor]': 'x' }, 'filterGroupBy[constructor]'],
    [{ 'filterGroupBy[hasOwnProperty]': 'x' }, 'filterGroupBy[hasOwnProperty]'],
  ])('refuses %j naming %s', (params, field) => {
    const result = parseMeterQuery(meter, params, now);
    expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
  });

  describe('as OpenMeter reads it (the /api/v1 routes)', () => {
    const read = (params: Record<string, string>, m: Meter = meter) => parseMeterQuery(m, params, now, 'openmeter');

    it('takes `to` inclusive and `from` from the beginning of time by default', () =>
      expect(read({})).toMatchObject({ ok: true, query: { from: beginningOfTime, to: now, toInclusive: true } }));

    it('bounds neither the range nor MINUTE windows (Tally’s own queries do)', () => {
      expect(read({ from: '2020-01-01T00:00:00Z', windowSize: 'MINUTE' }).ok).toBe(true);
      expect(parseMeterQuery(meter, { from: '2020-01-01T00:00:00Z' }, now).ok).toBe(false);
    });

    it('takes a range of one instant (from = to, both inclusive), not one that ends before it starts', () => {
      expect(read({ from: '2026-11-01T00:00:00Z', to: '2026-11-01T00:00:00Z' }).ok).toBe(true);
      expect(read({ from: '2026-11-02T00:00:00Z', to: '2026-11-01T00:00:00Z' }).ok).toBe(false);
    });

    it('reads advancedMeterGroupByFilters (JSON) and filterCustomerId; several filterGroupBy values are any of them', () => {
      expect(
        read({
          advancedMeterGroupByFilters: '{"region":{"$in":["eu","us"],"$or":[{"$like":"e%"},{"$eq":"us"}]}}',
          filterCustomerId: 'acme,globex',
        }),
      ).toMatchObject({
        ok: true,
        query: {
          groupFilters: { region: { $in: ['eu', 'us'], $or: [{ $like: 'e%' }, { $eq: 'us' }] } },
          accountIds: ['acme', 'globex'],
        },
      });
      expect(parseMeterQuery(meter, { 'filterGroupBy[region]': ['eu', 'us'] }, now, 'openmeter')).toMatchObject({
        ok: true,
        query: { groupFilters: { region: { $in: ['eu', 'us'] } } },
      });
    });

    it('holds every condition on one key: filterGroupBy values and an advanced filter together', () =>
      expect(
        parseMeterQuery(
          meter,
          { 'filterGroupBy[region]': ['eu', 'us'], advancedMeterGroupByFilters: '{"region":{"$ne":"us"}}' },
          now,
          'openmeter',
        ),
      ).toMatchObject({
        ok: true,
        query: { groupFilters: { region: { $and: [{ $in: ['eu', 'us'] }, { $ne: 'us' }] } } },
      }));

    it('bounds a filter by its operators and values in all (each is a SQL parameter)', () => {
      const wide = { $or: Array.from({ length: 20 }, () => ({ $in: Array.from({ length: 60 }, (_, i) => `v${i}`) })) };
      const result = read({ advancedMeterGroupByFilters: JSON.stringify({ region: wide }) });
      expect(!result.ok && result.errors.map((e) => e.field)).toContain('advancedMeterGroupByFilters.region');
    });

    it.each([
      ['not JSON', '{region', 'advancedMeterGroupByFilters'],
      ['a key the meter lacks', '{"colour":{"$eq":"red"}}', 'advancedMeterGroupByFilters.colour'],
      ['an unknown operator', '{"region":{"$regex":"e.*"}}', 'advancedMeterGroupByFilters.region.$regex'],
      ['a list where a string goes', '{"region":{"$eq":["eu"]}}', 'advancedMeterGroupByFilters.region.$eq'],
      ['no operator', '{"region":{}}', 'advancedMeterGroupByFilters.region'],
    ])('refuses advancedMeterGroupByFilters with %s, naming %s', (_what, text, field) => {
      const result = read({ advancedMeterGroupByFilters: text });
      expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
    });

    it('carries the meter’s eventFrom, in either reading', () => {
      const since = { ...meter, eventFrom: '2026-06-01T00:00:00.000Z' };
      expect(read({}, since)).toMatchObject({ ok: true, query: { since: new Date('2026-06-01T00:00:00Z') } });
      expect(parseMeterQuery(since, {}, now)).toMatchObject({
        ok: true,
        query: { since: new Date('2026-06-01T00:00:00Z') },
      });
    });
  });
});
