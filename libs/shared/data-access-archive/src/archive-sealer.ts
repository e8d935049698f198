import type { Pool } from 'pg';
import { ArchiveError, stopIfAborted } from './archive.errors';
import { ArchiveManifest, ManifestEntry } from './archive-manifest';
import { Segment, sealableRun, segmentKey, segmentsOf, sha256Hex } from './archive-partition';
import { readLedgerRows } from './ledger-rows';
import { ObjectExistsError, ObjectStore } from './object-store.port';
import { encodeSegment } from './segment.parquet';

export interface SealOptions {
  /** The ledger's pool and schema (the `events` table of PostgresEventStore). */
  pool: Pool;
  ledgerSchema: string;
  manifest: ArchiveManifest;
  store: ObjectStore;
  /** Rows recorded (recorded_at) strictly before this instant are sealed. */
  cutoff: Date;
  /** Ledger rows read per run; each run writes its files then records them in one transaction. */
  batchSize?: number;
  /**
   * Checked before every run (a run is whole: its files, then its manifest rows): once aborted — the pass
   * lost the lock that made it the only sealer — the seal stops with archive-interrupted.
   */
  signal?: AbortSignal;
}

export interface SealReport {
  sealed: ManifestEntry[];
  rows: number;
  bytes: number;
  /** Files found already written with the same bytes (left by a seal that stopped before its manifest). */
  reused: number;
}

/**
 * Seals the ledger, from the last sealed position on, up to the first row recorded at or after the cutoff.
 * Runs of `batchSize` rows: each run's files are written first, then recorded in the manifest in one
 * transaction. A crash between leaves files no manifest row names; the next seal reads the same rows,
 * writes the same bytes under the same keys, finds them there and records them (a file with other bytes
 * under its key stops it: archive-key-conflict). Sealing again with nothing new seals nothing.
 */
export const sealRange = async (options: SealOptions): Promise<SealReport> => {
  const batchSize = options.batchSize ?? 100_000;
  const cutoffMicros = BigInt(options.cutoff.getTime()) * 1000n;
  const report: SealReport = { sealed: [], rows: 0, bytes: 0, reused: 0 };
  for (;;) {
    stopIfAborted(options.signal, `sealing ${report.rows} rows`);
    const after = await options.manifest.sealedThrough();
    const rows = await readLedgerRows(options.pool, options.ledgerSchema, after, batchSize);
    const run = sealableRun(rows, cutoffMicros);
    if (run.length === 0) return report;
    const entries = [];
    for (const segment of segmentsOf(run)) entries.push(await writeSegment(options.store, segment, report));
    report.sealed.push(...(await options.manifest.record(after, entries)));
    report.rows += run.length;
    if (run.length < batchSize) return report;
  }
};

const writeSegment = async (store: ObjectStore, segment: Segment, report: SealReport) => {
  const bytes = encodeSegment(segment.rows);
  const sha256 = sha256Hex(bytes);
  const objectKey = segmentKey(segment);
  try {
    await store.put(objectKey, bytes);
  } catch (error) {
    if (!(error instanceof ObjectExistsError)) throw error;
    const existing = await store.get(objectKey);
    if (!existing || sha256Hex(existing) !== sha256) {
      throw new ArchiveError(
        'archive-key-conflict',
        `${objectKey} already holds other bytes than positions ${segment.fromPosition}–${segment.toPosition} seal to; it is left as it is`,
      );
    }
    report.reused += 1;
  }
  report.bytes += bytes.byteLength;
  const { tenant, category, month, fromPosition, toPosition } = segment;
  const eventTypes = [...new Set(segment.rows.map((row) => row.eventType))].sort();
  return {
    tenant,
    category,
    month,
    fromPosition,
    toPosition,
    rowCount: segment.rows.length,
    sha256,
    objectKey,
    eventTypes,
  };
};
