import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ExportRow } from './usage-export.rows';

/**
 * The export's Parquet layout: text columns UTF8; `time` INT64 TIMESTAMP(MICROS, adjusted to UTC); `position`
 * INT64; `data` and `attributes` UTF8 holding the jsonb's JSON text (not Parquet's JSON type: hyparquet-writer
 * would re-serialise the values, and a decimal must keep its digits — readers parse the text).
 */
const schema = [
  { name: 'root', num_children: 8 },
  { name: 'usage_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'account_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'subject', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'event_type', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  {
    name: 'time',
    type: 'INT64',
    repetition_type: 'REQUIRED',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
  },
  { name: 'data', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'attributes', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'position', type: 'INT64', repetition_type: 'REQUIRED' },
] as const;

/**
 * A ByteWriter whose written bytes can be taken away: `take()` hands over what was written since the last
 * take and starts the buffer again at index 0, while `offset` (which the file's metadata records) keeps
 * counting from the file's start. hyparquet-writer's own file writer flushes the same way.
 */
class ChunkWriter extends ByteWriter {
  take(): Uint8Array {
    const chunk = new Uint8Array(this.buffer.slice(0, this.index));
    this.index = 0;
    return chunk;
  }
}

/**
 * Writes one Parquet file a row group at a time: `start()` gives the magic bytes, `rowGroup(rows)` one row
 * group's bytes, `finish()` the footer (row-group metadata, page indexes, magic). What stays in memory between
 * row groups is the footer's metadata — a few hundred bytes per row group — never the rows already written.
 */
export class ParquetExportWriter {
  private readonly writer = new ChunkWriter();
  private readonly parquet = new ParquetWriter({
    writer: this.writer,
    schema: schema.map((element) => ({ ...element })),
    createdBy: 'tally usage export v1',
    kvMetadata: [{ key: 'tally.export.json-columns', value: 'data,attributes' }],
  });

  start(): Uint8Array {
    return this.writer.take();
  }

  rowGroup(rows: readonly ExportRow[]): Uint8Array {
    if (rows.length > 0)
      void this.parquet.write({
        columnData: [
          { name: 'usage_id', data: rows.map((r) => r.usageId) },
          { name: 'account_id', data: rows.map((r) => r.accountId) },
          { name: 'subject', data: rows.map((r) => r.subject) },
          { name: 'event_type', data: rows.map((r) => r.eventType) },
          { name: 'time', data: rows.map((r) => r.timeMicros) },
          { name: 'data', data: rows.map((r) => r.data) },
          { name: 'attributes', data: rows.map((r) => r.attributes) },
          { name: 'position', data: rows.map((r) => r.position) },
        ],
        // The whole batch as one row group: a row group is the unit a reader skips or reads in parallel.
        rowGroupSize: rows.length,
      });
    return this.writer.take();
  }

  finish(): Uint8Array {
    void this.parquet.finish();
    return this.writer.take();
  }
}
