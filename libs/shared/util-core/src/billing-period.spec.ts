import { describe, expect, it, vi } from 'vitest';
import {
  billingPeriodAt,
  billingPeriodByLabel,
  billingPeriodsOverlapping,
  isPeriodLabel,
  localMidnightToInstant,
} from './billing-period';

const at = (instant: string, timeZone: string, anchorDay?: number) =>
  billingPeriodAt(new Date(instant), timeZone, anchorDay);
const labelsOver = (from: string, to: string, timeZone: string, anchorDay?: number) =>
  billingPeriodsOverlapping(new Date(from), new Date(to), timeZone, anchorDay).map((period) => period.label);

describe('billing periods: calendar months (anchor day 1)', () => {
  it.each([
    // UTC: plain calendar months, December rolling into the next year
    [
      '2026-11-15T12:00:00.000Z',
      'UTC',
      { label: '2026-11', start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' },
    ],
    [
      '2026-12-31T23:59:59.999Z',
      'UTC',
      { label: '2026-12', start: '2026-12-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
    ],
    // Berlin, March: starts at +01:00, ends at +02:00 (the 29th has 23 hours), so the month is 743 hours long
    [
      '2026-03-15T12:00:00.000Z',
      'Europe/Berlin',
      { label: '2026-03', start: '2026-02-28T23:00:00.000Z', end: '2026-03-31T22:00:00.000Z' },
    ],
    // Berlin, October: starts at +02:00, ends at +01:00 (the 25th has 25 hours)
    [
      '2026-10-15T12:00:00.000Z',
      'Europe/Berlin',
      { label: '2026-10', start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z' },
    ],
    // Sydney, October: starts in AEST (+10), ends in AEDT (+11) since 4 October
    [
      '2026-10-15T12:00:00.000Z',
      'Australia/Sydney',
      { label: '2026-10', start: '2026-09-30T14:00:00.000Z', end: '2026-10-31T13:00:00.000Z' },
    ],
    // 31 Oct 13:00 UTC is already 1 Nov 00:00 in Sydney
    [
      '2026-10-31T13:00:00.000Z',
      'Australia/Sydney',
      { label: '2026-11', start: '2026-10-31T13:00:00.000Z', end: '2026-11-30T13:00:00.000Z' },
    ],
    // Sydney, April: starts in AEDT (+11), ends in AEST (+10) since 5 April
    [
      '2026-04-15T12:00:00.000Z',
      'Australia/Sydney',
      { label: '2026-04', start: '2026-03-31T13:00:00.000Z', end: '2026-04-30T14:00:00.000Z' },
    ],
  ])('%s in %s', (instant, zone, period) => expect(at(instant, zone)).toEqual(period));

  it.each([
    // exactly at a period's start: the new period; 1 ms before: the old one
    ['2026-02-28T23:00:00.000Z', 'Europe/Berlin', '2026-03'],
    ['2026-02-28T22:59:59.999Z', 'Europe/Berlin', '2026-02'],
    ['2026-03-31T22:00:00.000Z', 'Europe/Berlin', '2026-04'],
    ['2026-03-31T21:59:59.999Z', 'Europe/Berlin', '2026-03'],
    ['2026-10-31T13:00:00.000Z', 'Australia/Sydney', '2026-11'],
    ['2026-10-31T12:59:59.999Z', 'Australia/Sydney', '2026-10'],
    ['2027-01-01T00:00:00.000Z', 'UTC', '2027-01'],
    ['2026-12-31T23:59:59.999Z', 'UTC', '2026-12'],
  ])('%s in %s belongs to %s', (instant, zone, label) => expect(at(instant, zone).label).toBe(label));

  it('finds the same period by its label', () =>
    expect(billingPeriodByLabel('2026-03', 'Europe/Berlin')).toEqual(at('2026-03-15T12:00:00Z', 'Europe/Berlin')));
});

describe('billing periods anchored to another day', () => {
  it.each([
    // anchor 15: the period labelled 2026-02 runs from 15 Feb to 15 Mar
    [
      '2026-03-10T00:00:00.000Z',
      'UTC',
      15,
      { label: '2026-02', start: '2026-02-15T00:00:00.000Z', end: '2026-03-15T00:00:00.000Z' },
    ],
    [
      '2026-03-15T00:00:00.000Z',
      'UTC',
      15,
      { label: '2026-03', start: '2026-03-15T00:00:00.000Z', end: '2026-04-15T00:00:00.000Z' },
    ],
    [
      '2026-03-14T23:59:59.999Z',
      'UTC',
      15,
      { label: '2026-02', start: '2026-02-15T00:00:00.000Z', end: '2026-03-15T00:00:00.000Z' },
    ],
    // anchor 15 in Berlin, across the March DST change: +01:00 at the start, +02:00 at the end
    [
      '2026-03-20T00:00:00.000Z',
      'Europe/Berlin',
      15,
      { label: '2026-03', start: '2026-03-14T23:00:00.000Z', end: '2026-04-14T22:00:00.000Z' },
    ],
    // anchor 31: a short month's period starts on its last day (28 Feb 2026, 29 Feb 2028)
    [
      '2026-02-10T00:00:00.000Z',
      'UTC',
      31,
      { label: '2026-01', start: '2026-01-31T00:00:00.000Z', end: '2026-02-28T00:00:00.000Z' },
    ],
    [
      '2026-02-28T00:00:00.000Z',
      'UTC',
      31,
      { label: '2026-02', start: '2026-02-28T00:00:00.000Z', end: '2026-03-31T00:00:00.000Z' },
    ],
    [
      '2026-02-27T23:59:59.999Z',
      'UTC',
      31,
      { label: '2026-01', start: '2026-01-31T00:00:00.000Z', end: '2026-02-28T00:00:00.000Z' },
    ],
    [
      '2028-03-01T00:00:00.000Z',
      'UTC',
      31,
      { label: '2028-02', start: '2028-02-29T00:00:00.000Z', end: '2028-03-31T00:00:00.000Z' },
    ],
    [
      '2026-05-01T00:00:00.000Z',
      'UTC',
      31,
      { label: '2026-04', start: '2026-04-30T00:00:00.000Z', end: '2026-05-31T00:00:00.000Z' },
    ],
    // anchor 30 in February of a leap year: the 29th
    [
      '2028-03-01T00:00:00.000Z',
      'UTC',
      30,
      { label: '2028-02', start: '2028-02-29T00:00:00.000Z', end: '2028-03-30T00:00:00.000Z' },
    ],
  ])('%s in %s, anchor %i', (instant, zone, anchor, period) => expect(at(instant, zone, anchor)).toEqual(period));

  it.each([0, 32, 1.5])('refuses anchor day %s', (anchor) =>
    expect(() => at('2026-01-01T00:00:00Z', 'UTC', anchor)).toThrow(RangeError),
  );
});

describe('localMidnightToInstant', () => {
  it.each([
    // ordinary days: 00:00 at the day's offset
    [2026, 3, 1, 'Europe/Berlin', '2026-02-28T23:00:00.000Z'],
    [2026, 3, 29, 'Europe/Berlin', '2026-03-28T23:00:00.000Z'],
    [2026, 3, 30, 'Europe/Berlin', '2026-03-29T22:00:00.000Z'],
    // Santiago skips 6 Sep 2026 00:00–00:59 (−04 → −03): the day starts at 01:00 −03 = 04:00Z, the end of the gap
    [2026, 9, 5, 'America/Santiago', '2026-09-05T04:00:00.000Z'],
    [2026, 9, 6, 'America/Santiago', '2026-09-06T04:00:00.000Z'],
    [2026, 9, 7, 'America/Santiago', '2026-09-07T03:00:00.000Z'],
    // Beirut skips 29 Mar 2026 00:00–00:59 (+02 → +03): the day starts at 01:00 +03 = 22:00Z on the 28th
    [2026, 3, 29, 'Asia/Beirut', '2026-03-28T22:00:00.000Z'],
    // Havana repeats 1 Nov 2026 00:00–00:59 (−04 → −05): the day starts at the first midnight, 04:00Z, not 05:00Z
    [2026, 11, 1, 'America/Havana', '2026-11-01T04:00:00.000Z'],
  ])('%i-%i-%i in %s starts at %s', (year, month, day, zone, instant) =>
    expect(localMidnightToInstant(year, month, day, zone).toISOString()).toBe(instant),
  );

  it('puts the instant before a midnight gap in the previous day, and the gap’s end in the new one', () => {
    // anchor 29 in Beirut: 2026-03's period starts where 29 Mar begins, right after the gap
    expect(billingPeriodByLabel('2026-03', 'Asia/Beirut', 29).start).toBe('2026-03-28T22:00:00.000Z');
    expect(at('2026-03-28T22:00:00.000Z', 'Asia/Beirut', 29).label).toBe('2026-03');
    expect(at('2026-03-28T21:59:59.999Z', 'Asia/Beirut', 29).label).toBe('2026-02');
  });
});

describe('billingPeriodsOverlapping: every period that intersects [from, to)', () => {
  it.each([
    ['2026-01-15T00:00:00Z', '2026-03-15T00:00:00Z', 'UTC', 1, ['2026-01', '2026-02', '2026-03']],
    // `to` exclusive: a range ending exactly at a period's start does not reach it; 1 ms more does
    ['2026-01-15T00:00:00Z', '2026-03-01T00:00:00Z', 'UTC', 1, ['2026-01', '2026-02']],
    ['2026-01-15T00:00:00Z', '2026-03-01T00:00:00.001Z', 'UTC', 1, ['2026-01', '2026-02', '2026-03']],
    // `from` inclusive: starting exactly at a period's start begins with it
    ['2026-02-01T00:00:00Z', '2026-02-01T00:00:00.001Z', 'UTC', 1, ['2026-02']],
    // an empty or reversed range meets no period
    ['2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z', 'UTC', 1, []],
    ['2026-03-01T00:00:00Z', '2026-02-01T00:00:00Z', 'UTC', 1, []],
    // across a year in Berlin, anchored to the 15th: 15 Dec local is 14 Dec 23:00Z
    ['2026-12-14T23:00:00Z', '2027-02-14T23:00:00Z', 'Europe/Berlin', 15, ['2026-12', '2027-01']],
    [
      '2026-12-14T22:59:59.999Z',
      '2027-02-14T23:00:00.001Z',
      'Europe/Berlin',
      15,
      ['2026-11', '2026-12', '2027-01', '2027-02'],
    ],
  ])('[%s, %s) in %s, anchor %i', (from, to, zone, anchor, labels) =>
    expect(labelsOver(from, to, zone, anchor)).toEqual(labels),
  );

  it('returns contiguous periods: each ends where the next starts', () => {
    const periods = billingPeriodsOverlapping(
      new Date('2026-01-01T00:00:00Z'),
      new Date('2027-01-01T00:00:00Z'),
      'Australia/Sydney',
      31,
    );
    expect(periods).toHaveLength(13);
    periods.slice(1).forEach((period, index) => expect(period.start).toBe(periods[index].end));
  });
});

describe('period labels', () => {
  it.each([
    ['2026-11', true],
    ['2026-01', true],
    ['2026-13', false],
    ['2026-00', false],
    ['2026-1', false],
    ['26-11', false],
    ['november', false],
  ])('%s is a label: %s', (text, ok) => expect(isPeriodLabel(text)).toBe(ok));

  it('refuses to look up a malformed label', () =>
    expect(() => billingPeriodByLabel('2026-13', 'UTC')).toThrow(RangeError));
});

describe('the cost of computing periods', () => {
  it("asks the zone database for a period boundary once: the next subscription's periods in that zone are read from memory", () => {
    const first = billingPeriodsOverlapping(
      new Date('2024-02-10T08:00:00Z'),
      new Date('2026-11-03T12:00:00Z'),
      'Pacific/Chatham',
      17,
    );
    const lookups = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    try {
      // Another subscription in the zone with the same anchor day, started later: its boundaries are all known.
      const next = billingPeriodsOverlapping(
        new Date('2025-05-20T13:00:00Z'),
        new Date('2026-11-03T12:00:00Z'),
        'Pacific/Chatham',
        17,
      );
      expect(next).toEqual(first.slice(first.findIndex((p) => p.label === '2025-05')));
      // The start instant's own local month (one lookup), never a boundary again: 2 to 4 lookups per boundary before.
      expect(lookups).toHaveBeenCalledTimes(1);
    } finally {
      lookups.mockRestore();
    }
  });
});
