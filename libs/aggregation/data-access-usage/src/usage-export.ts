import type { Pool } from 'pg';
import type { ExportFormat } from '@tally/aggregation/domain';
import { csvHeader, csvLines } from './usage-export.csv';
import { ParquetExportWriter } from './usage-export.parquet';
import { ExportRange, readExportBatches } from './usage-export.rows';

export interface UsageExportOptions {
  pool: Pool;
  /** The aggregation schema holding usage_facts. */
  schema: string;
  range: ExportRange;
  format: ExportFormat;
  /** Rows per cursor fetch, and per Parquet row group (10,000 by default: TALLY_EXPORT_BATCH_ROWS). */
  batchSize: number;
}

/**
 * The export's bytes, a chunk per batch of rows, produced as they are asked for: the next batch is fetched
 * only when the consumer wants the next chunk, so a slow reader holds back the cursor, not memory. The first
 * chunk (header or Parquet magic, with the first batch) comes after the first fetch, so a caller that awaits
 * it before answering still answers a database that is down with an error status rather than a file.
 *
 * The file is complete only when the generator returns: if it throws, what was produced so far is a prefix
 * and must not be presented as a whole file (the route aborts the response).
 */
export async function* usageExportChunks(options: UsageExportOptions): AsyncGenerator<Uint8Array> {
  const batches = readExportBatches(options.pool, options.schema, options.range, options.batchSize);
  if (options.format === 'csv') {
    let header: Buffer | undefined = Buffer.from(csvHeader(), 'utf8');
    for await (const rows of batches) {
      yield header ? concat(header, csvLines(rows)) : csvLines(rows);
      header = undefined;
    }
    if (header) yield header;
    return;
  }
  const parquet = new ParquetExportWriter();
  let head: Uint8Array | undefined = parquet.start();
  for await (const rows of batches) {
    yield head ? concat(head, parquet.rowGroup(rows)) : parquet.rowGroup(rows);
    head = undefined;
  }
  yield head ? concat(head, parquet.finish()) : parquet.finish();
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => Buffer.concat([a, b]);
