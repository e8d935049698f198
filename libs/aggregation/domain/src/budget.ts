import { ExactDecimal as Decimal, FieldError } from '@tally/shared/util-core';

/**
 * A budget on an account's usage of one meter (optionally of one app) per billing period, with alert
 * thresholds in percent of the limit — Forge alerts at 50, 75, 90 and 100 % of its free allowances.
 */
export interface Budget {
  budgetId: string;
  accountId: string;
  meter: string;
  app: string | null;
  /** In the meter's unit, a decimal string. */
  limit: string;
  thresholds: number[];
}

export const defaultThresholds = [50, 75, 90, 100];

const keyPattern = /^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$/;
const decimalText = /^(?:\d+\.?\d*|\.\d+)$/;

export const validateBudget = (input: unknown): { ok: true; budget: Budget } | { ok: false; errors: FieldError[] } => {
  const errors: FieldError[] = [];
  const body = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}) as Record<
    string,
    unknown
  >;
  if (body !== input) errors.push({ field: '', message: 'a budget must be a JSON object' });
  const key = (field: string, pattern = keyPattern, hint = '1–128 letters, digits and . : @ + -') => {
    const value = body[field];
    if (typeof value !== 'string' || !pattern.test(value))
      errors.push({ field, message: `${field} is required: ${hint}` });
    return String(value);
  };
  const budgetId = key('id');
  const accountId = key('accountId');
  const meter = key('meter', /^[a-z0-9]+(?:[_-][a-z0-9]+)*$/, 'a meter slug');
  const app = body.app === undefined || body.app === null ? null : String(body.app);
  if (body.app !== undefined && body.app !== null && (typeof body.app !== 'string' || body.app === ''))
    errors.push({ field: 'app', message: 'app must be a non-empty string when given' });
  const limit = body.limit;
  if (typeof limit !== 'string' || !decimalText.test(limit) || new Decimal(limit).lte(0))
    errors.push({ field: 'limit', message: 'limit must be a positive decimal string, e.g. "200000"' });
  const thresholds = body.thresholds === undefined ? defaultThresholds : body.thresholds;
  if (
    !Array.isArray(thresholds) ||
    thresholds.length === 0 ||
    thresholds.length > 20 ||
    !thresholds.every((t, i) => Number.isInteger(t) && t >= 1 && t <= 1_000 && (i === 0 || t > thresholds[i - 1]))
  ) {
    errors.push({ field: 'thresholds', message: 'thresholds are 1–20 whole percentages from 1 to 1000, ascending' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    budget: { budgetId, accountId, meter, app, limit: limit as string, thresholds: thresholds as number[] },
  };
};

/** The thresholds a usage has reached: usage ≥ limit × t / 100, in exact decimals. */
export const reachedThresholds = (budget: Pick<Budget, 'limit' | 'thresholds'>, usage: string): number[] =>
  budget.thresholds.filter((t) => new Decimal(usage).gte(new Decimal(budget.limit).mul(t).div(100)));
