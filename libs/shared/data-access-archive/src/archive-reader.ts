import type { RecordedEvent } from '@tally/shared/data-access-event-store';
import type { ArchiveManifest, ManifestEntry } from './archive-manifest';
import type { ArchiveRow } from './archive-row';
import type { ObjectStore } from './object-store.port';
import { readSegment } from './segment-reader';

export interface ArchiveReaderOptions {
  /** How long a look at the manifest is trusted (default 1 s); pruning waits far longer (PruneOptions). */
  manifestTtlMs?: number;
  /** Decoded files kept in memory (default 4; a file holds up to 100,000 rows). */
  cachedFiles?: number;
}

/**
 * Reads the sealed part of the ledger from the archive, in global-position order, as the ledger's own
 * readAll does: a seal's files interleave (one per tenant, category and month), so a read merges the files
 * that overlap the positions asked for. Files are verified when fetched (readSegment) and the last few
 * decoded are kept, so a replay reading batch after batch decodes each file once.
 */
export class ArchiveReader {
  private entries: ManifestEntry[] = [];
  private through = 0n;
  private lookedAt = 0;
  private readonly decoded = new Map<string, Promise<ArchiveRow[]>>();

  constructor(
    private readonly manifest: ArchiveManifest,
    private readonly store: ObjectStore,
    private readonly options: ArchiveReaderOptions = {},
  ) {}

  /** The last sealed position (0: nothing sealed), as the manifest said at most manifestTtlMs ago. */
  async sealedThrough(): Promise<bigint> {
    if (Date.now() - this.lookedAt > (this.options.manifestTtlMs ?? 1_000)) {
      // One indexed max() per second; the whole list only when something was sealed since.
      const through = await this.manifest.sealedThrough();
      if (through !== this.through) {
        this.entries = await this.manifest.list();
        this.through = this.entries.reduce((max, e) => (e.toPosition > max ? e.toPosition : max), 0n);
      }
      this.lookedAt = Date.now();
    }
    return this.through;
  }

  /** Up to maxCount sealed events after `after` (of these types), in position order. */
  async read(after: bigint, maxCount: number, eventTypes?: readonly string[]): Promise<RecordedEvent[]> {
    await this.sealedThrough();
    const wanted = eventTypes && new Set(eventTypes);
    const files = this.entries.filter(
      (e) => e.toPosition > after && (!wanted || !e.eventTypes || e.eventTypes.some((t) => wanted.has(t))),
    );
    const picked: ArchiveRow[] = [];
    for (const file of files) {
      // Files are in order of their first position: once maxCount rows below this file's first are in hand,
      // neither it nor any later file can add one of the first maxCount.
      if (picked.length >= maxCount && picked[maxCount - 1].globalPosition < file.fromPosition) break;
      const rows = await this.rowsOf(file);
      const taken = [];
      for (let i = firstAfter(rows, after); i < rows.length && taken.length < maxCount; i++)
        if (!wanted || wanted.has(rows[i].eventType)) taken.push(rows[i]);
      picked.push(...taken);
      picked.sort((a, b) => (a.globalPosition < b.globalPosition ? -1 : 1));
      picked.length = Math.min(picked.length, maxCount);
    }
    return picked.map(toRecorded);
  }

  private rowsOf(entry: ManifestEntry): Promise<ArchiveRow[]> {
    let rows = this.decoded.get(entry.objectKey);
    if (!rows) {
      rows = readSegment(this.store, entry);
      // A failed fetch is not kept: the next read tries again.
      rows.catch(() => this.decoded.delete(entry.objectKey));
      this.decoded.set(entry.objectKey, rows);
      const limit = this.options.cachedFiles ?? 4;
      for (const key of this.decoded.keys()) if (this.decoded.size > limit) this.decoded.delete(key);
    } else {
      // Most recently used last.
      this.decoded.delete(entry.objectKey);
      this.decoded.set(entry.objectKey, rows);
    }
    return rows;
  }
}

/** Index of the first row after a position (rows are in position order). */
const firstAfter = (rows: readonly ArchiveRow[], after: bigint): number => {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (rows[middle].globalPosition <= after) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** An archive row as the ledger's readAll returns it: JSON parsed from the same text, recorded_at to the ms. */
const toRecorded = (row: ArchiveRow): RecordedEvent => ({
  id: row.eventId,
  type: row.eventType,
  data: JSON.parse(row.data),
  metadata: JSON.parse(row.metadata),
  streamName: row.streamName,
  streamRevision: row.streamRevision,
  globalPosition: row.globalPosition,
  recordedAt: new Date(Number(row.recordedAtMicros / 1000n)),
});
