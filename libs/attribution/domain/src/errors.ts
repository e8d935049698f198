import { refusals } from '@tally/shared/util-core';

/** Attribution's refusals (registry commands), each with its kind (docs/errors.md). */
export const attributionRefusals = refusals({
  unknown_account: 'unknown-reference',
  unknown_plan: 'unknown-reference',
  plan_currency_mismatch: 'unknown-reference',
  unknown_command: 'invalid',
  account_exists: 'conflict',
  subscription_exists: 'conflict',
  overlapping_subscription: 'conflict',
  cannot_extend: 'conflict',
  plan_change_out_of_order: 'conflict',
  outside_subscription: 'conflict',
  assignment_not_after_latest: 'conflict',
  reversed_interval: 'invalid',
  unknown_subscription: 'not-found',
  unknown_subject: 'not-found',
});
export type AttributionRefusal = keyof typeof attributionRefusals.codes;

/** Throws one of attribution's refusals (typed: a code of another context, or a typo, does not compile). */
export const refuse: (code: AttributionRefusal, message: string, field?: string) => never = attributionRefusals.refuse;
