import { describe, expect, it } from 'vitest';
import { reachedThresholds, validateBudget } from './budget';

describe('reachedThresholds', () => {
  const budget = { limit: '200000', thresholds: [50, 75, 90, 100] };
  it.each([
    // 50 % of 200,000 is 100,000: one below, at, one above
    ['99999.999', []],
    ['100000', [50]],
    ['100000.001', [50]],
    // 75 % = 150,000; 90 % = 180,000; 100 % = 200,000
    ['150000', [50, 75]],
    ['179999.9999999999999', [50, 75]],
    ['180000', [50, 75, 90]],
    ['200000', [50, 75, 90, 100]],
    ['1000000', [50, 75, 90, 100]],
  ])('usage %s reaches %j', (usage, expected) => expect(reachedThresholds(budget, usage)).toEqual(expected));
});

describe('validateBudget', () => {
  it('defaults the thresholds to 50/75/90/100', () =>
    expect(validateBudget({ id: 'b1', accountId: 'acme', meter: 'gb_seconds', limit: '200000' })).toEqual({
      ok: true,
      budget: {
        budgetId: 'b1',
        accountId: 'acme',
        meter: 'gb_seconds',
        app: null,
        limit: '200000',
        thresholds: [50, 75, 90, 100],
      },
    }));
  it.each([
    [{ accountId: 'a', meter: 'm', limit: '1' }, 'id'],
    [{ id: 'b', accountId: 'a', meter: 'm', limit: 100 }, 'limit'],
    [{ id: 'b', accountId: 'a', meter: 'm', limit: '0' }, 'limit'],
    [{ id: 'b', accountId: 'a', meter: 'm', limit: '-5' }, 'limit'],
    [{ id: 'b', accountId: 'a', meter: 'm', limit: '5', thresholds: [90, 50] }, 'thresholds'],
    [{ id: 'b', accountId: 'a', meter: 'm', limit: '5', thresholds: [0.5] }, 'thresholds'],
    [{ id: 'b', accountId: 'a', meter: 'm', limit: '5', app: '' }, 'app'],
  ])('refuses %j naming %s', (input, field) => {
    const result = validateBudget(input);
    expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
  });
});
