import { describe, expect, it } from 'vitest';
import { floorToMinute, parseRfc3339, utcMonth } from './time';

describe('parseRfc3339', () => {
  it.each([
    ['2026-11-25T10:00:00Z', '2026-11-25T10:00:00.000Z'],
    ['2026-11-25T11:00:00.5+01:00', '2026-11-25T10:00:00.500Z'],
  ])('reads %s', (text, iso) => expect(parseRfc3339(text)?.toISOString()).toBe(iso));

  it.each(['2026-11-25', '2026-02-30T00:00:00Z', '2026-11-25T25:00:00Z', '2026-11-25T10:00:00', 'yesterday'])(
    'refuses %s',
    (text) => expect(parseRfc3339(text)).toBeUndefined(),
  );
});

describe('time buckets', () => {
  it('floors to the minute', () =>
    expect(floorToMinute(new Date('2026-11-25T10:07:59.999Z')).toISOString()).toBe('2026-11-25T10:07:00.000Z'));
  it('names the UTC month', () => expect(utcMonth(new Date('2026-11-30T23:59:59Z'))).toBe('2026-11'));
});
