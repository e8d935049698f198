import { billingPeriodAt, billingPeriodByLabel, isPeriodLabel } from '@tally/shared/util-core';

/**
 * A billing period is a month in the account's time zone, from its billing anchor day (1 = calendar months),
 * named `YYYY-MM` by the month it starts in — the same periods invoicing bills (util-core's billing periods).
 */
export const isPeriod = (text: string): boolean => isPeriodLabel(text);

/** The period an instant falls in, in a time zone, from an anchor day. */
export const periodAt = (instant: Date, timeZone: string, anchorDay = 1): string =>
  billingPeriodAt(instant, timeZone, anchorDay).label;

/** The instants a period runs between: [from, to). */
export const periodBounds = (period: string, timeZone: string, anchorDay = 1): { from: Date; to: Date } => {
  const bounds = billingPeriodByLabel(period, timeZone, anchorDay);
  return { from: new Date(bounds.start), to: new Date(bounds.end) };
};
