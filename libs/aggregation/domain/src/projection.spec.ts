import { describe, expect, it } from 'vitest';
import { projectedQuantity } from './projection';

const november = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-12-01T00:00:00Z') };
const at = (iso: string) => new Date(iso);

describe('projectedQuantity', () => {
  it('carries a sum’s rate to the end of the period: 100 in the first 12 days of 30 → 250', () =>
    // 100 × 720 h ÷ 288 h = 250
    expect(projectedQuantity('SUM', '100', november, at('2026-11-13T00:00:00Z'))).toBe('250'));

  it('and a count’s; a rate that does not divide evenly rounds once, at 40 places', () =>
    // 1 × 720 h ÷ 708 h = 60 / 59 = 1.0169491525…
    expect(projectedQuantity('COUNT', '1', november, at('2026-11-30T12:00:00Z'))).toBe(
      '1.0169491525423728813559322033898305084746',
    ));

  it('leaves a time-weighted meter to its levels (read again, held to the end)', () =>
    expect(projectedQuantity('TIME_WEIGHTED_SUM', '10', november, at('2026-11-13T00:00:00Z'))).toBe('levels'));

  it.each(['MIN', 'MAX', 'AVG', 'LATEST', 'UNIQUE_COUNT'] as const)('keeps a %s as measured', (aggregation) =>
    expect(projectedQuantity(aggregation, '7', november, at('2026-11-13T00:00:00Z'))).toBe('7'),
  );

  it('projects nothing before the period and keeps an ended period’s quantity final', () => {
    expect(projectedQuantity('SUM', '0', november, at('2026-10-20T00:00:00Z'))).toBe('0');
    expect(projectedQuantity('SUM', '100', november, at('2026-12-05T00:00:00Z'))).toBe('100');
  });
});
