import { parseRfc3339 } from '@tally/shared/util-core';
import { Meter } from './meter';
import { parseStringFilter, StringFilter } from './group-filter';

export const meterWindowSizes = ['MINUTE', 'HOUR', 'DAY', 'MONTH'] as const;
export type MeterWindowSize = (typeof meterWindowSizes)[number];

export interface MeterQuery {
  from: Date;
  to: Date;
  /** OpenMeter's reading: usage at exactly `to` counts too (Tally's own queries end before `to`). */
  toInclusive?: boolean;
  /** The meter's eventFrom: usage before it never counts, whatever the range asked. */
  since?: Date;
  /** Absent: one value over the whole range. */
  windowSize?: MeterWindowSize;
  /** IANA zone windows are cut in (days, months, DST-aware). */
  windowTimeZone: string;
  accountId?: string;
  subjects: string[];
  /** Group-by keys of the meter (and `subject`) to split values by. */
  groupBy: string[];
  /** Only usage whose group-by value equals this. */
  filterGroupBy: Record<string, string>;
  /** Only usage whose group-by values meet these conditions (OpenMeter's advancedMeterGroupByFilters). */
  groupFilters?: Record<string, StringFilter>;
  /** Only these accounts' usage (OpenMeter's filterCustomerId: a customer is an account). */
  accountIds?: string[];
  /** Subject attributes (app, environment, …) to split values by, as recorded by attribution. */
  attributeGroups?: string[];
  /** Only usage whose subject attribute equals this (e.g. one app's budget). */
  filterAttributes?: Record<string, string>;
  /** Time-weighted meters: levels hold until this instant at most (default: now). */
  asOf?: Date;
}

import type { QueryError } from './usage-query';

const isTimeZone = (zone: string) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

const list = (value: string | string[] | undefined): string[] =>
  (value === undefined ? [] : Array.isArray(value) ? value : value.split(',')).map((v) => v.trim()).filter(Boolean);

/**
 * How a range is read. `openmeter` (the /api/v1 routes): as OpenMeter's specification says — `to` inclusive,
 * `from` by default the beginning of time, no bound on the range (the cost follows the usage in it, and only
 * windows with usage are answered). `tally` (Tally's own callers, e.g. the NATS meter query): `to` exclusive,
 * `from` by default 30 days before `to`, at most 400 days and MINUTE windows over at most 7 days.
 */
export type MeterQueryDialect = 'openmeter' | 'tally';

/** The beginning of time, for a range with no `from` (OpenMeter's default). */
export const beginningOfTime = new Date(0);

/**
 * Reads an OpenMeter-style meter query: from (inclusive), to, windowSize, windowTimeZone, subject (repeatable),
 * groupBy (repeatable or comma-separated), filterGroupBy[key]=value, plus Tally's accountId.
 */
export const parseMeterQuery = (
  meter: Meter,
  params: Record<string, string | string[] | undefined>,
  now: Date,
  dialect: MeterQueryDialect = 'tally',
): { ok: true; query: MeterQuery } | { ok: false; errors: QueryError[] } => {
  const openMeter = dialect === 'openmeter';
  const errors: QueryError[] = [];
  const single = (field: string) => {
    const value = params[field];
    if (Array.isArray(value)) {
      errors.push({ field, message: `${field} may be given once` });
      return undefined;
    }
    return value;
  };
  const instant = (field: string, fallback: Date) => {
    const text = single(field);
    if (text === undefined) return fallback;
    const parsed = parseRfc3339(text);
    if (!parsed) errors.push({ field, message: `${field} must be an RFC 3339 timestamp with an offset` });
    return parsed ?? fallback;
  };
  const to = instant('to', now);
  const from = instant('from', openMeter ? beginningOfTime : new Date(to.getTime() - 30 * 86_400_000));
  if (openMeter ? from > to : from >= to)
    errors.push({ field: 'to', message: openMeter ? 'to must not be before from' : 'to must be after from' });
  if (!openMeter && to.getTime() - from.getTime() > 400 * 86_400_000)
    errors.push({ field: 'to', message: 'a query covers at most 400 days' });
  const windowSize = single('windowSize')?.toUpperCase();
  if (windowSize !== undefined && !meterWindowSizes.includes(windowSize as MeterWindowSize))
    errors.push({ field: 'windowSize', message: `windowSize must be one of ${meterWindowSizes.join(', ')}` });
  if (!openMeter && windowSize === 'MINUTE' && to.getTime() - from.getTime() > 7 * 86_400_000)
    errors.push({ field: 'windowSize', message: 'MINUTE windows cover at most 7 days per query' });
  const windowTimeZone = single('windowTimeZone') ?? 'UTC';
  if (!isTimeZone(windowTimeZone))
    errors.push({ field: 'windowTimeZone', message: 'windowTimeZone must be an IANA time zone such as Europe/Berlin' });
  const groupBy = list(params.groupBy);
  // Own keys only: `toString` or `__proto__` are in every object's prototype, not in the meter.
  for (const key of groupBy)
    if (key !== 'subject' && !Object.hasOwn(meter.groupBy, key))
      errors.push({ field: 'groupBy', message: `meter ${meter.slug} has no group-by key ${key}` });
  const filters: [string, string][] = [];
  const groupFilters: [string, StringFilter][] = [];
  for (const [name, value] of Object.entries(params)) {
    const match = /^filterGroupBy\[(.+)\]$/.exec(name);
    if (!match) continue;
    if (!Object.hasOwn(meter.groupBy, match[1]))
      errors.push({ field: name, message: `meter ${meter.slug} has no group-by key ${match[1]}` });
    else if (typeof value === 'string') filters.push([match[1], value]);
    // Several values for one key (OpenMeter's POST query takes a list): any of them.
    else if (openMeter && Array.isArray(value)) groupFilters.push([match[1], { $in: value }]);
    else errors.push({ field: name, message: 'give one value per key' });
  }
  const advanced = single('advancedMeterGroupByFilters');
  if (advanced !== undefined) groupFilters.push(...parseAdvancedFilters(meter, advanced, errors));
  const filterGroupBy: Record<string, string> = Object.fromEntries(filters);
  const accountId = single('accountId');
  const customers = list(params.filterCustomerId);
  if (customers.length > 100) errors.push({ field: 'filterCustomerId', message: 'at most 100 customers' });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    query: {
      from,
      to,
      ...(openMeter && { toInclusive: true }),
      ...(meter.eventFrom && { since: new Date(meter.eventFrom) }),
      windowSize: windowSize as MeterWindowSize | undefined,
      windowTimeZone,
      accountId: accountId || undefined,
      subjects: list(params.subject),
      groupBy,
      filterGroupBy,
      ...(groupFilters.length > 0 && { groupFilters: combinedByKey(groupFilters) }),
      ...(customers.length > 0 && { accountIds: customers }),
    },
  };
};

/** `advancedMeterGroupByFilters`: a JSON object of group-by key → FilterString, each key one of the meter's. */
const parseAdvancedFilters = (meter: Meter, text: string, errors: QueryError[]): [string, StringFilter][] => {
  const field = 'advancedMeterGroupByFilters';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    errors.push({ field, message: `${field} must be a JSON object of group-by key → filter` });
    return [];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push({ field, message: `${field} must be a JSON object of group-by key → filter` });
    return [];
  }
  const parsed: [string, StringFilter][] = [];
  for (const [key, filter] of Object.entries(value)) {
    if (!Object.hasOwn(meter.groupBy, key)) {
      errors.push({ field: `${field}.${key}`, message: `meter ${meter.slug} has no group-by key ${key}` });
      continue;
    }
    const read = parseStringFilter(filter, `${field}.${key}`, errors);
    if (read) parsed.push([key, read]);
  }
  return parsed;
};

/** Several conditions on one key (filterGroupBy values and an advanced filter) must all hold. */
const combinedByKey = (filters: readonly [string, StringFilter][]): Record<string, StringFilter> => {
  const byKey = new Map<string, StringFilter[]>();
  for (const [key, filter] of filters) byKey.set(key, [...(byKey.get(key) ?? []), filter]);
  return Object.fromEntries(
    [...byKey].map(([key, list]) => [key, list.length === 1 ? list[0] : { $and: list }] as const),
  );
};
