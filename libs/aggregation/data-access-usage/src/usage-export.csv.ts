import { exportColumns } from '@tally/aggregation/domain';
import type { ExportRow } from './usage-export.rows';

/**
 * The export as CSV (RFC 4180): a header line, then one line per usage event, lines ended by CRLF, a field
 * quoted when it holds a comma, a quote or a line break (quotes doubled). `data` and `attributes` are JSON
 * text, so they are nearly always quoted; a reader parses them with a JSON parser that keeps decimals.
 */
export const csvHeader = (): string => `${exportColumns.join(',')}\r\n`;

export const csvLines = (rows: readonly ExportRow[]): string => {
  let text = '';
  for (const r of rows)
    text += `${field(r.usageId)},${field(r.accountId)},${field(r.subject)},${field(r.eventType)},${r.time},${field(r.data)},${field(r.attributes)},${r.position}\r\n`;
  return text;
};

const needsQuotes = /[",\r\n]/;
const field = (value: string): string => (needsQuotes.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
