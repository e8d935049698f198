import { FieldError, parseRfc3339 } from '@tally/shared/util-core';

/**
 * The usage export for finance (`GET /v1/exports/usage`): every live, attributed usage event of a tenant in
 * [from, to) of event time, one row each, as CSV or Parquet. This file reads the request; the rows are read
 * and written by data-access-usage (usage-export.*.ts).
 */
export const exportFormats = ['csv', 'parquet'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** The media type of each format (Parquet's is the one registered with IANA in 2024). */
export const exportMediaTypes: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** The longest range one export may cover: a year, leap day included. Longer ranges are several exports. */
export const maxExportDays = 366;

/** The columns of every export, in order (docs/storage.md#export says what each holds). */
export const exportColumns = [
  'usage_id',
  'account_id',
  'subject',
  'event_type',
  'time',
  'data',
  'attributes',
  'position',
] as const;

export interface UsageExportQuery {
  from: Date;
  to: Date;
  accountId?: string;
  format: ExportFormat;
}

/** Why a request is refused: `validation` names the fields; the other two are problems of the range as a whole. */
export type ExportQueryRefusal = 'validation' | 'reversed-interval' | 'export-range-too-long';

export type ParsedExportQuery =
  { ok: true; query: UsageExportQuery } | { ok: false; code: ExportQueryRefusal; errors: FieldError[] };

const dayMs = 86_400_000;

/**
 * Reads the export's parameters. `from` (inclusive) and `to` (exclusive) are required RFC 3339 instants;
 * `format` is csv or parquet — when it is absent, an `Accept` naming Parquet's media type chooses Parquet,
 * anything else CSV (the query parameter wins over the header).
 */
export const parseUsageExportQuery = (
  params: Record<string, unknown>,
  accept: string | undefined,
): ParsedExportQuery => {
  const errors: FieldError[] = [];
  const single = (field: string): string | undefined => {
    const value = params[field];
    if (value === undefined || typeof value === 'string') return value;
    errors.push({ field, message: `give ${field} once` });
    return undefined;
  };
  const instant = (field: 'from' | 'to'): Date | undefined => {
    const text = single(field);
    if (text === undefined || text === '') {
      errors.push({ field, message: `${field} is required (RFC 3339, e.g. 2026-11-01T00:00:00Z)` });
      return undefined;
    }
    const parsed = parseRfc3339(text);
    if (!parsed) errors.push({ field, message: `${field} must be an RFC 3339 timestamp with an offset` });
    return parsed;
  };
  const from = instant('from');
  const to = instant('to');
  const accountId = single('accountId');
  if (accountId === '') errors.push({ field: 'accountId', message: 'accountId must not be empty' });
  const format = formatOf(single('format'), accept);
  if (format === undefined)
    errors.push({ field: 'format', message: `format must be one of ${exportFormats.join(', ')}` });
  if (errors.length > 0 || !from || !to || !format) return { ok: false, code: 'validation', errors };
  if (from >= to)
    return { ok: false, code: 'reversed-interval', errors: [{ field: 'to', message: 'to must be after from' }] };
  if (to.getTime() - from.getTime() > maxExportDays * dayMs)
    return {
      ok: false,
      code: 'export-range-too-long',
      errors: [{ field: 'to', message: `at most ${maxExportDays} days per export: split the range` }],
    };
  return { ok: true, query: { from, to, accountId: accountId || undefined, format } };
};

const formatOf = (given: string | undefined, accept: string | undefined): ExportFormat | undefined => {
  if (given !== undefined) return exportFormats.find((f) => f === given.toLowerCase());
  return (accept ?? '').toLowerCase().includes('application/vnd.apache.parquet') ? 'parquet' : 'csv';
};

/**
 * The attachment's file name: `usage-<tenant>[-<account>]-<from>-<to>.<ext>`, times as compact UTC
 * (20261101T000000Z), and any character outside [A-Za-z0-9._-] replaced, so it is safe in a header and a path.
 */
export const exportFileName = (tenant: string, query: UsageExportQuery): string => {
  const compact = (instant: Date) => instant.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, '_');
  const who = [tenant, query.accountId].filter((part) => part !== undefined).map((part) => safe(part as string));
  return `usage-${who.join('-')}-${compact(query.from)}-${compact(query.to)}.${query.format}`;
};
