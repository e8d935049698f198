import { exportColumns, exportFormats, maxExportDays } from '@tally/aggregation/domain';
import { queryText, z } from '@tally/shared/feature-runtime';

/** GET /v1/exports/usage: the request's shape (the domain's parseUsageExportQuery adds the range's rules). */
export const usageExportQuery = z.object({
  from: queryText().meta({
    description: 'RFC 3339, inclusive: usage whose event time is at or after it',
    examples: ['2026-11-01T00:00:00Z'],
  }),
  to: queryText().meta({
    description: `RFC 3339, exclusive: usage before it; after \`from\`, at most ${maxExportDays} days after it`,
    examples: ['2026-12-01T00:00:00Z'],
  }),
  accountId: queryText().min(1).optional().meta({
    description: 'one account only (404 when the account is unknown); by default every account of the tenant',
  }),
  format: queryText()
    .regex(new RegExp(`^(${exportFormats.join('|')})$`, 'i'), { error: `must be one of ${exportFormats.join(', ')}` })
    .optional()
    .meta({
      description:
        'csv or parquet; without it, `Accept: application/vnd.apache.parquet` asks for Parquet and anything else gets CSV',
      examples: ['parquet'],
    }),
});

const columns =
  'One row per usage event that counts (voided and parked usage left out), ordered by event time, then usage id. ' +
  `Columns: ${exportColumns.join(', ')} — usage_id (uuid), account_id, subject, event_type, time (CSV: RFC 3339 in UTC ` +
  'with milliseconds; Parquet: TIMESTAMP(MICROS, UTC)), data (the event’s data as JSON text, decimals with every digit ' +
  'they were sent with), attributes (the subject’s attributes as JSON text), position (the ledger position of the ' +
  'last change to the event: its recording, a move or an amendment; Parquet INT64).';

/** The answer's two forms. The document's JSON Schema can only say "a string": docs/storage.md#export has the layout. */
export const UsageExportCsv = z.string().meta({ description: `CSV (RFC 4180, CRLF, a header line). ${columns}` });
export const UsageExportParquet = z.string().meta({
  format: 'binary',
  description: `A Parquet file, one row group per ${'`TALLY_EXPORT_BATCH_ROWS`'} rows. ${columns}`,
});
