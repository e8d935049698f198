import { FieldError, parseRfc3339 } from '@tally/shared/util-core';

export const windowSizes = ['MINUTE', 'HOUR', 'DAY'] as const;
export type WindowSize = (typeof windowSizes)[number];

export interface UsageQuery {
  accountId: string;
  from: Date;
  to: Date;
  windowSize: WindowSize;
  eventType?: string;
}

export type QueryError = FieldError;

/** Longest range one query may cover per window size, so a single request stays bounded. */
const maxWindows = 10_000;
const windowMs: Record<WindowSize, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };

/**
 * Reads the usage query's parameters. `from` is inclusive and `to` exclusive; both must align
 * with the window size so every window is whole. Defaults: the last 24 hours, by hour.
 */
export const parseUsageQuery = (
  params: Record<string, unknown>,
  now: Date,
): { ok: true; query: UsageQuery } | { ok: false; errors: QueryError[] } => {
  const errors: QueryError[] = [];
  /** A parameter given once; given twice (an array) it is refused, never guessed. */
  const single = (field: string): string | undefined => {
    const value = params[field];
    if (value === undefined || typeof value === 'string') return value;
    errors.push({ field, message: `give ${field} once` });
    return undefined;
  };
  const accountId = single('accountId');
  if (!accountId) errors.push({ field: 'accountId', message: 'accountId is required' });
  const windowSize = (single('windowSize') ?? 'HOUR').toUpperCase() as WindowSize;
  if (!windowSizes.includes(windowSize))
    errors.push({ field: 'windowSize', message: `windowSize must be one of ${windowSizes.join(', ')}` });
  const size = windowMs[windowSize] ?? windowMs.HOUR;
  const [toText, fromText, type] = [single('to'), single('from'), single('type')];
  const to = toText ? parseRfc3339(toText) : new Date(Math.ceil(now.getTime() / size) * size);
  const from = fromText ? parseRfc3339(fromText) : to && new Date(to.getTime() - 24 * 3_600_000);
  if (!from) errors.push({ field: 'from', message: 'from must be an RFC 3339 timestamp' });
  if (!to) errors.push({ field: 'to', message: 'to must be an RFC 3339 timestamp' });
  if (from && to) {
    if (from >= to) errors.push({ field: 'to', message: 'to must be after from' });
    if (from.getTime() % size !== 0 || to.getTime() % size !== 0)
      errors.push({
        field: 'from',
        message: `from and to must align to whole ${windowSize.toLowerCase()} windows (UTC)`,
      });
    if ((to.getTime() - from.getTime()) / size > maxWindows)
      errors.push({ field: 'to', message: `at most ${maxWindows} windows per query` });
  }
  if (errors.length > 0 || !accountId || !from || !to) return { ok: false, errors };
  return { ok: true, query: { accountId, from, to, windowSize, eventType: type || undefined } };
};
