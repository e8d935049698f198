import { describe, expect, it } from 'vitest';
import { isPeriod, periodAt } from './billing-period';

describe('billing periods', () => {
  it.each([
    // 31 Oct 23:30 UTC is already 1 Nov in Berlin (+01:00) and in Sydney (+11:00), still October in Chicago
    ['2026-10-31T23:30:00Z', 'Europe/Berlin', '2026-11'],
    ['2026-10-31T23:30:00Z', 'Australia/Sydney', '2026-11'],
    ['2026-10-31T23:30:00Z', 'America/Chicago', '2026-10'],
    ['2026-10-31T23:30:00Z', 'UTC', '2026-10'],
  ])('%s in %s is in %s', (instant, zone, period) => expect(periodAt(new Date(instant), zone)).toBe(period));

  it.each([
    // Anchored on the 15th: 14 Nov 23:30 in Berlin still belongs to the period that started 15 October.
    ['2026-11-14T22:30:00Z', 'Europe/Berlin', 15, '2026-10'],
    ['2026-11-14T23:00:00Z', 'Europe/Berlin', 15, '2026-11'],
  ])('%s in %s from day %i is in %s', (instant, zone, anchor, period) =>
    expect(periodAt(new Date(instant), zone, anchor)).toBe(period),
  );

  it.each([
    ['2026-11', true],
    ['2026-13', false],
    ['2026-1', false],
    ['november', false],
  ])('%s is a period: %s', (text, ok) => expect(isPeriod(text)).toBe(ok));
});
