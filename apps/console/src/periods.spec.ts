import { describe, expect, it } from 'vitest';
import { periodAt, periodsBack, shift } from './periods';

describe('billing periods', () => {
  it('names the period by the local month it starts in', () => {
    // 1 Dec 02:00 UTC is still 30 Nov in New York
    expect(periodAt('2026-12-01T02:00:00Z', 'America/New_York')).toBe('2026-11');
    expect(periodAt('2026-12-01T02:00:00Z', 'UTC')).toBe('2026-12');
  });

  it('counts a day before the anchor day in the period before', () => {
    expect(periodAt('2026-12-14T12:00:00Z', 'UTC', 15)).toBe('2026-11');
    expect(periodAt('2026-12-15T00:00:00Z', 'UTC', 15)).toBe('2026-12');
    // anchor 31 in February: its last day
    expect(periodAt('2026-02-28T00:00:00Z', 'UTC', 31)).toBe('2026-02');
  });

  it('moves across years', () => {
    expect(shift('2026-01', -1)).toBe('2025-12');
    expect(shift('2025-12', 1)).toBe('2026-01');
  });

  it('lists the periods newest first, back to the first', () => {
    expect(periodsBack('2026-02', '2025-11')).toEqual(['2026-02', '2026-01', '2025-12', '2025-11']);
    expect(periodsBack('2026-02', '2026-02')).toEqual(['2026-02']);
    expect(periodsBack('2026-02', '1900-01', 3)).toHaveLength(3);
  });
});
