import { refusals } from '@tally/shared/util-core';

/** Aggregation's refusals (meters, budgets), each with its kind (docs/errors.md). */
export const aggregationRefusals = refusals({
  meter_exists: 'conflict',
  unknown_meter: 'not-found',
  unknown_budget: 'not-found',
  unknown_account: 'unknown-reference',
  unknown_meter_reference: 'unknown-reference',
  unknown_command: 'invalid',
  group_by_fixed: 'invalid',
});
export type AggregationRefusal = keyof typeof aggregationRefusals.codes;

/** Throws one of aggregation's refusals (typed: a code of another context, or a typo, does not compile). */
export const refuse: (code: AggregationRefusal, message: string, field?: string) => never = aggregationRefusals.refuse;
