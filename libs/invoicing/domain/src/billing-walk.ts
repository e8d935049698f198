import { BillingPeriod, billingPeriodsOverlapping } from '@tally/shared/util-core';

/**
 * Where a billing run may begin its walk over a subscription's periods: every period of the subscription's grid
 * before `from` was seen settled (finalized or voided). Both are terminal in the ledger, so a period once settled
 * stays settled, and a run that skips it does what the walk from the start would have done (skip it too, or find
 * its stream final and leave it unchanged). The periods themselves follow the grid: the subscription's start, the
 * account's zone and anchor day. A mark made under another grid says nothing, and the walk begins at the start.
 */
export interface WalkMark {
  grid: string;
  /** The start of the first period of the grid not seen settled (ISO instant). */
  from: string;
}

export interface WalkedSubscription {
  startsAt: string;
  endsAt: string | null;
}

export interface WalkedAccount {
  timezone: string;
  anchorDay: number;
}

/** What the periods of a subscription depend on: change any of it and they are other periods. */
export const walkGrid = (subscription: WalkedSubscription, account: WalkedAccount): string =>
  JSON.stringify([Date.parse(subscription.startsAt), account.timezone, account.anchorDay]);

/**
 * Where this run's walk may begin (ms), when the mark holds: the same grid, and no draft of the subscription before
 * it. A draft before the mark (left from another grid and not voided yet) sends the walk back to the start, so the
 * draft is seen for what it is: a period the subscription no longer covers. Undefined: walk from the start.
 */
export const walkStart = (
  subscription: WalkedSubscription,
  account: WalkedAccount,
  mark: WalkMark | undefined,
  draftStarts: readonly string[],
): number | undefined => {
  if (!mark || mark.grid !== walkGrid(subscription, account)) return undefined;
  const from = Date.parse(mark.from);
  return draftStarts.some((start) => Date.parse(start) < from) ? undefined : from;
};

/**
 * The subscription's ended periods a run looks at, in order: every one since the start, or those from `from`
 * (walkStart) on — the same periods with the settled ones before them left out.
 */
export const periodsToWalk = (
  subscription: WalkedSubscription,
  account: WalkedAccount,
  now: number,
  from?: number,
): Readonly<BillingPeriod>[] => {
  const until = runsUntil(subscription, now);
  const first = Math.max(Date.parse(subscription.startsAt), from ?? -Infinity);
  if (first >= until) return [];
  return billingPeriodsOverlapping(new Date(first), new Date(until), account.timezone, account.anchorDay).filter(
    (p) => Date.parse(p.end) <= now,
  );
};

/** Whether the subscription has begun by `now` (and not ended before it began): a run counts it. */
export const hasBegun = (subscription: WalkedSubscription, now: number): boolean =>
  Date.parse(subscription.startsAt) < runsUntil(subscription, now);

/** Where the subscription's billed time stops as of `now`: its end, or now. */
const runsUntil = (subscription: WalkedSubscription, now: number): number =>
  Math.min(subscription.endsAt === null ? Infinity : Date.parse(subscription.endsAt), now);

/**
 * The mark after a run: moved past the walked periods seen settled, up to the first that is not. Unmoved (or
 * none) when nothing was walked.
 */
export const markAfter = (
  subscription: WalkedSubscription,
  account: WalkedAccount,
  mark: WalkMark | undefined,
  walked: readonly Readonly<BillingPeriod>[],
  isSettled: (period: Readonly<BillingPeriod>) => boolean,
): WalkMark | undefined => {
  const grid = walkGrid(subscription, account);
  let from = mark?.grid === grid ? mark.from : undefined;
  for (const period of walked) {
    if (!isSettled(period)) return { grid, from: period.start };
    // Periods are contiguous: one's end is the next one's start.
    from = period.end;
  }
  return from === undefined ? undefined : { grid, from };
};
