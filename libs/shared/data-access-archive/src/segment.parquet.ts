import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ArchiveRow } from './archive-row';

/**
 * The Parquet layout of an archive file. `data`/`metadata` hold the ledger's JSON text as it is (read back
 * as text, never through JSON.parse); `recorded_at` is a UTC timestamp in
 * microseconds, written from and read back to a bigint so no precision passes through a Date.
 */
const schema = [
  { name: 'root', num_children: 8 },
  { name: 'global_position', type: 'INT64', repetition_type: 'REQUIRED' },
  { name: 'stream_name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'stream_revision', type: 'INT64', repetition_type: 'REQUIRED' },
  { name: 'event_id', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'event_type', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  // UTF8, not Parquet's JSON type: hyparquet-writer re-serialises JSON values (JSON.stringify), which would
  // turn the ledger's text into a quoted string; a UTF8 column keeps the exact text, and readers parse it.
  { name: 'data', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'metadata', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  {
    name: 'recorded_at',
    type: 'INT64',
    repetition_type: 'REQUIRED',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
  },
] as const;

export const encodeSegment = (rows: readonly ArchiveRow[]): Uint8Array =>
  new Uint8Array(
    parquetWriteBuffer({
      schema: schema.map((element) => ({ ...element })),
      columnData: [
        { name: 'global_position', data: rows.map((r) => r.globalPosition) },
        { name: 'stream_name', data: rows.map((r) => r.streamName) },
        { name: 'stream_revision', data: rows.map((r) => r.streamRevision) },
        { name: 'event_id', data: rows.map((r) => r.eventId) },
        { name: 'event_type', data: rows.map((r) => r.eventType) },
        { name: 'data', data: rows.map((r) => r.data) },
        { name: 'metadata', data: rows.map((r) => r.metadata) },
        { name: 'recorded_at', data: rows.map((r) => r.recordedAtMicros) },
      ],
      // One writer identity, no wall clock in the file: the same rows always give the same bytes (and sha256),
      // which is what lets a re-seal recognise a file it wrote before a crash.
      createdBy: 'tally archive v1',
      kvMetadata: [{ key: 'tally.archive.json-columns', value: 'data,metadata' }],
      rowGroupSize: 100_000,
    }),
  );

interface ParquetRow {
  global_position: bigint;
  stream_name: string;
  stream_revision: bigint;
  event_id: string;
  event_type: string;
  data: string;
  metadata: string;
  recorded_at: bigint;
}

export const decodeSegment = async (bytes: Uint8Array): Promise<ArchiveRow[]> => {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await parquetReadObjects({
    file,
    parsers: {
      timestampFromMicroseconds: (micros: bigint) => micros,
    },
  })) as unknown as ParquetRow[];
  return rows.map((r) => ({
    globalPosition: r.global_position,
    streamName: r.stream_name,
    streamRevision: r.stream_revision,
    eventId: r.event_id,
    eventType: r.event_type,
    data: r.data,
    metadata: r.metadata,
    recordedAtMicros: r.recorded_at,
  }));
};
