import { describe, expect, it } from 'vitest';
import { parseUsageQuery } from './usage-query';

const now = new Date('2026-11-25T10:17:00Z');

describe('parseUsageQuery', () => {
  it('defaults to the last 24 whole hours, by hour', () =>
    expect(parseUsageQuery({ accountId: 'acme' }, now)).toEqual({
      ok: true,
      query: {
        accountId: 'acme',
        windowSize: 'HOUR',
        from: new Date('2026-11-24T11:00:00Z'),
        to: new Date('2026-11-25T11:00:00Z'),
        eventType: undefined,
      },
    }));

  it.each([
    [{}, 'accountId'],
    [{ accountId: 'a', windowSize: 'WEEK' }, 'windowSize'],
    [{ accountId: 'a', from: 'soon' }, 'from'],
    [{ accountId: 'a', windowSize: 'MINUTE', from: '2026-11-25T10:00:30Z', to: '2026-11-25T10:05:00Z' }, 'from'],
    [{ accountId: 'a', windowSize: 'MINUTE', from: '2026-11-25T10:05:00Z', to: '2026-11-25T10:00:00Z' }, 'to'],
  ])('refuses %j naming %s', (params, field) => {
    const result = parseUsageQuery(params, now);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
  });
});
