import { describe, expect, it } from 'vitest';
import { intakeRate, perSecond } from './intake-rate';

describe('intake rate', () => {
  it.each([
    // 0 in a minute
    { accepted: 0n, seconds: 60, rate: '0.0' },
    // 1 in 60 s = 0.0166… → 0.0
    { accepted: 1n, seconds: 60, rate: '0.0' },
    // 2 in 60 s = 0.0333… → 0.0; 3 in 60 s = 0.05 exactly → half up: 0.1
    { accepted: 2n, seconds: 60, rate: '0.0' },
    { accepted: 3n, seconds: 60, rate: '0.1' },
    // 90 in 60 s = 1.5
    { accepted: 90n, seconds: 60, rate: '1.5' },
    // 45,858 × 3,600 in an hour = 45,858.0 (beyond a JS number's exact tenths it stays exact: bigints)
    { accepted: 165_088_800n, seconds: 3_600, rate: '45858.0' },
    // 1,000 in 15 min = 1.111… → 1.1
    { accepted: 1_000n, seconds: 900, rate: '1.1' },
  ])('$accepted in $seconds s is $rate per second', ({ accepted, seconds, rate }) =>
    expect(perSecond(accepted, seconds)).toBe(rate),
  );

  it('gives each window its own rate', () =>
    expect(intakeRate({ lastMinute: 120n, last15Minutes: 900n, lastHour: 900n })).toEqual({
      lastMinute: { accepted: 120, perSecond: '2.0' },
      last15Minutes: { accepted: 900, perSecond: '1.0' },
      lastHour: { accepted: 900, perSecond: '0.3' },
    }));
});
