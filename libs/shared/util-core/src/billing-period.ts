/**
 * Monthly billing periods in an IANA time zone, anchored to a day of the month. A period runs from local
 * midnight at the start of its anchor day to the same point of the next month; a day beyond the month's
 * length means the month's last day (anchor 31 starts February's period on the 28th or 29th).
 */
export interface BillingPeriod {
  /** 'YYYY-MM' of the local month the period starts in. */
  label: string;
  /** UTC ISO instant of the first moment of the period. */
  start: string;
  /** UTC ISO instant of the first moment of the next period (exclusive). */
  end: string;
}

const labelPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;
const dayMs = 86_400_000;

interface Month {
  year: number;
  /** 1..12 */
  month: number;
}

export const isPeriodLabel = (text: string): boolean => labelPattern.test(text);

/** The period that contains the instant; an instant exactly at a period's start belongs to that period. */
export const billingPeriodAt = (instant: Date, timeZone: string, anchorDay = 1): Readonly<BillingPeriod> =>
  periodOf(monthContaining(instant, timeZone, anchorDay), timeZone, anchorDay);

export const billingPeriodByLabel = (label: string, timeZone: string, anchorDay = 1): Readonly<BillingPeriod> => {
  assertAnchorDay(anchorDay);
  const match = labelPattern.exec(label);
  if (!match) throw new RangeError(`${label} is not a period label (YYYY-MM)`);
  return periodOf({ year: Number(match[1]), month: Number(match[2]) }, timeZone, anchorDay);
};

/**
 * Every period that intersects [from, to), in order; none when the range is empty. Periods (here and from
 * billingPeriodAt, billingPeriodByLabel) are shared and frozen: copy one to change it.
 */
export const billingPeriodsOverlapping = (
  from: Date,
  to: Date,
  timeZone: string,
  anchorDay = 1,
): Readonly<BillingPeriod>[] => {
  const periods: Readonly<BillingPeriod>[] = [];
  if (to.getTime() <= from.getTime()) return periods;
  // Stepping by month, not by "the period at the previous end", always moves forward.
  for (let month = monthContaining(from, timeZone, anchorDay); ; month = addMonths(month, 1)) {
    const period = periodOf(month, timeZone, anchorDay);
    if (Date.parse(period.start) >= to.getTime()) return periods;
    periods.push(period);
  }
};

/**
 * The UTC instant of 00:00 local time on a date in a zone, correct across DST. Where that midnight does not
 * exist (a DST gap at midnight, as in America/Santiago or Asia/Beirut, where clocks go from 23:59:59 to 01:00),
 * the day starts at the first instant after the gap. Where midnight happens twice, the day starts at the first.
 */
export const localMidnightToInstant = (year: number, month: number, day: number, timeZone: string): Date => {
  const key = `${timeZone} ${year}-${month}-${day}`;
  let instant = midnights.get(key);
  if (instant === undefined) {
    if (midnights.size >= midnightsKept) midnights.clear();
    instant = computeLocalMidnight(year, month, day, timeZone);
    midnights.set(key, instant);
  }
  return new Date(instant);
};

/**
 * Local midnights already computed, by zone and date: each takes two to four `formatToParts` calls, and a billing
 * pass asks the same few (its accounts' zones × anchor days × months) for every subscription — 10,000
 * subscriptions' periods took 6.8 s without it. Exact (a pure function of its key); bounded, cleared when full.
 */
const midnights = new Map<string, number>();
const midnightsKept = 100_000;

const computeLocalMidnight = (year: number, month: number, day: number, timeZone: string): number => {
  const asUtc = Date.UTC(year, month - 1, day);
  // The zone's offsets on either side of the date; any transition near that midnight lies between them.
  const offsetBefore = offsetAt(asUtc - dayMs, timeZone);
  const offsetAfter = offsetAt(asUtc + dayMs, timeZone);
  const candidates = [asUtc - offsetBefore, asUtc - offsetAfter].filter(
    (instant) => wallClockMs(instant, timeZone) === asUtc,
  );
  // No candidate reads 00:00 there: midnight is in a gap, which opens at midnight under the old offset.
  return candidates.length > 0 ? Math.min(...candidates) : asUtc - offsetBefore;
};

/** The month whose period contains the instant: the local month, or the one before when its anchor day is still to come. */
const monthContaining = (instant: Date, timeZone: string, anchorDay: number): Month => {
  assertAnchorDay(anchorDay);
  const { year, month } = wallClock(instant.getTime(), timeZone);
  // Compare instants, not local dates: where the anchor day's midnight falls in a DST gap, the period starts at
  // the first instant after the gap, and the local date alone would not say which side of that an instant is on.
  return instant.getTime() >= periodStart({ year, month }, timeZone, anchorDay)
    ? { year, month }
    : addMonths({ year, month }, -1);
};

const periodOf = (month: Month, timeZone: string, anchorDay: number): Readonly<BillingPeriod> => {
  const key = `${timeZone} ${anchorDay} ${month.year}-${month.month}`;
  let period = periods.get(key);
  if (period === undefined) {
    if (periods.size >= periodsKept) periods.clear();
    period = Object.freeze({
      label: `${month.year}-${String(month.month).padStart(2, '0')}`,
      start: new Date(periodStart(month, timeZone, anchorDay)).toISOString(),
      end: new Date(periodStart(addMonths(month, 1), timeZone, anchorDay)).toISOString(),
    });
    periods.set(key, period);
  }
  return period;
};

/**
 * Periods already made, by zone, anchor day and month, shared (frozen): a billing pass asks every subscription's
 * periods from its start, the same few dozen for all of them — at two years' age, making them again was the
 * largest piece of an invoice's own CPU (docs/benchmarks.md). Exact (a pure function of its key); bounded.
 */
const periods = new Map<string, Readonly<BillingPeriod>>();
const periodsKept = 100_000;

const periodStart = ({ year, month }: Month, timeZone: string, anchorDay: number): number =>
  localMidnightToInstant(year, month, Math.min(anchorDay, daysInMonth({ year, month })), timeZone).getTime();

// Day 0 of the next month is the last day of this one.
const daysInMonth = ({ year, month }: Month): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

const addMonths = ({ year, month }: Month, count: number): Month => {
  const index = year * 12 + (month - 1) + count;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
};

const assertAnchorDay = (anchorDay: number): void => {
  if (!Number.isInteger(anchorDay) || anchorDay < 1 || anchorDay > 31)
    throw new RangeError(`anchor day must be 1..31, got ${anchorDay}`);
};

const formatters = new Map<string, Intl.DateTimeFormat>();

const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // h23: some runtimes print midnight as "24" under hour12: false.
    const options = {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    } as const;
    formatter = new Intl.DateTimeFormat('en-US', options);
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** The local calendar fields at an instant (milliseconds dropped). */
const wallClock = (instant: number, timeZone: string) => {
  const parts = formatterFor(timeZone).formatToParts(instant);
  const field = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((part) => part.type === type)?.value);
  return {
    year: field('year'),
    month: field('month'),
    day: field('day'),
    hour: field('hour'),
    minute: field('minute'),
    second: field('second'),
  };
};

/** The local wall-clock time at an instant, read as if it were UTC, in whole seconds. */
const wallClockMs = (instant: number, timeZone: string): number => {
  const { year, month, day, hour, minute, second } = wallClock(instant, timeZone);
  return Date.UTC(year, month - 1, day, hour, minute, second);
};

/** The zone's offset from UTC at an instant, in ms (east positive). */
const offsetAt = (instant: number, timeZone: string): number =>
  wallClockMs(instant, timeZone) - Math.floor(instant / 1000) * 1000;
