import { describe, expect, it } from 'vitest';
import { filtersOf, searchOf, usageQueryOf, windowSizeOf } from './account-filters';

describe('account filters in the address', () => {
  const bookmarked = '?period=2026-11&breakdownBy=site&filterAttribute[app]=app-1&meter=forge-functions';

  it('reads a bookmarked address', () =>
    expect(filtersOf(bookmarked)).toEqual({
      period: '2026-11',
      breakdownBy: 'site',
      attributes: { app: 'app-1' },
      meter: 'forge-functions',
    }));

  it('writes the same address back', () => expect(searchOf(filtersOf(bookmarked))).toBe(bookmarked));

  it('asks the usage API with everything but the focused meter', () =>
    expect(usageQueryOf(filtersOf(bookmarked))).toEqual({
      period: '2026-11',
      breakdownBy: 'site',
      'filterAttribute[app]': 'app-1',
    }));

  it('has no query without filters, and ignores empty values', () => {
    expect(searchOf(filtersOf('?period=&filterAttribute[app]='))).toBe('');
    expect(filtersOf('').attributes).toEqual({});
  });

  it('keeps the charts’ window, days unless hours are asked', () => {
    expect(filtersOf('?window=hour')).toMatchObject({ window: 'hour' });
    expect(searchOf(filtersOf('?meter=m&window=hour'))).toBe('?meter=m&window=hour');
    expect(windowSizeOf(filtersOf('?window=hour'))).toBe('HOUR');
    expect(windowSizeOf(filtersOf('?window=week'))).toBe('DAY');
    expect(windowSizeOf(filtersOf(''))).toBe('DAY');
  });

  it('keeps values that need escaping', () =>
    expect(filtersOf(searchOf({ attributes: { site: 'a&b=c' } })).attributes).toEqual({ site: 'a&b=c' }));
});
