/**
 * One ledger row as the archive keeps it: every column of `events`, losslessly.
 * - `data` and `metadata` are the JSON text Postgres gives for the jsonb (`data::text`), never parsed into JS
 *   numbers: a decimal written as digits stays those digits.
 * - `recordedAtMicros` is microseconds since the epoch (timestamptz's own precision; a JS Date keeps only ms).
 */
export interface ArchiveRow {
  globalPosition: bigint;
  streamName: string;
  streamRevision: bigint;
  eventId: string;
  eventType: string;
  data: string;
  metadata: string;
  recordedAtMicros: bigint;
}
