import { describe, expect, it } from 'vitest';
import { difference, percentOf, reaches, sumOf } from './decimal';

describe('decimal strings', () => {
  it('adds without a float in between', () => {
    expect(sumOf(['0.1', '0.2'])).toBe('0.3'); // 0.30000000000000004 as floats
    expect(sumOf(['1.25', '0.00275', '-0.5'])).toBe('0.75275');
    expect(sumOf([])).toBe('0');
  });

  it('subtracts', () => expect(difference('260000', '200000')).toBe('60000'));

  it.each([
    // 250,000 of 200,000 free: 125 %
    { used: '250000', of: '200000', percent: '125.0' },
    // 0.15 of 0.1 GB: 150 %
    { used: '0.15', of: '0.1', percent: '150.0' },
    // 1 of 3: 33.3… truncated
    { used: '1', of: '3', percent: '33.3' },
    { used: '0', of: '730', percent: '0.0' },
    { used: '5', of: '0', percent: undefined },
  ])('$used of $of is $percent %', ({ used, of, percent }) => expect(percentOf(used, of)).toBe(percent));

  it.each([
    // the threshold at n − 1, n, n + 1: 50 % of 400,000 is 200,000
    { used: '199999.99', threshold: 50, reached: false },
    { used: '200000', threshold: 50, reached: true },
    { used: '200000.01', threshold: 50, reached: true },
    { used: '400000', threshold: 100, reached: true },
  ])('$used of 400,000 reaches $threshold %: $reached', ({ used, threshold, reached }) =>
    expect(reaches(used, '400000', threshold)).toBe(reached),
  );
});
