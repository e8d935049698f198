import type { components } from '@tally/client/http';

type BillingRun = components['schemas']['BillingRunRecord'];

/**
 * How many a list holds, from one page of it: exact when the page is the last (`next` null), a lower bound
 * otherwise — no list of the API has a count, and the overview reads one page only (e.g. "1,000 or more").
 */
export const listedCount = (listed: number, next: string | null, locale?: string) =>
  next === null ? listed.toLocaleString(locale) : `${listed.toLocaleString(locale)} or more`;

const outcomes = [
  ['drafted', 'drafted'],
  ['redrafted', 'redrafted'],
  ['finalized', 'finalized'],
  ['voided', 'voided'],
  ['unchanged', 'unchanged'],
  ['waiting', 'waiting for an earlier draft'],
  ['behind', 'waiting for usage to catch up'],
  ['failed', 'failed'],
  ['costAlerts', 'cost budget alerts'],
] as const satisfies readonly (readonly [keyof BillingRun, string])[];

/**
 * What a billing run did, in words: the subscriptions it went through and each outcome that happened (a zero is
 * left out, so the sentence says what changed), e.g. "1 subscription: 1 drafted, 1 cost budget alerts".
 */
export const billingRunOutcome = (run: BillingRun, locale?: string): string => {
  const done = outcomes
    .filter(([key]) => run[key] > 0)
    .map(([key, words]) => `${run[key].toLocaleString(locale)} ${words}`);
  const subscriptions = `${run.subscriptions.toLocaleString(locale)} subscription${run.subscriptions === 1 ? '' : 's'}`;
  return done.length ? `${subscriptions}: ${done.join(', ')}` : `${subscriptions}: nothing to do`;
};
