import type { RecordedEvent } from '@tally/shared/data-access-event-store';
import type { ArchiveManifest, ManifestEntry } from './archive-manifest';
import type { ArchiveRow } from './archive-row';
import type { ObjectStore } from './object-store.port';
import { readSegment } from './segment-reader';

export interface ArchiveReaderOptions {
  /** How long a look at the manifest is trusted (default 1 s). */
  manifestTtlMs?: number;
  /**
   * Decoded rows kept in memory (default 300,000: a seal run's files hold 100,000 rows between them, however
   * many tenants they are split into, so a replay keeps every file its cursor overlaps).
   */
  cachedRows?: number;
}

/** The sealed files as the manifest listed them at one moment, and the last position they cover. */
export interface ArchiveView {
  readonly through: bigint;
  readonly entries: readonly ManifestEntry[];
}

/**
 * Reads the sealed part of the ledger from the archive, in global-position order, as the ledger's own
 * readAll does: a seal's files interleave (one per tenant, category and month), so a read merges the files
 * that overlap the positions asked for. Files are verified when fetched (readSegment) and the most recently
 * used are kept decoded, so a replay reading batch after batch decodes each file once.
 */
export class ArchiveReader {
  private view: ArchiveView = { through: 0n, entries: [] };
  private lookedAt = 0;
  private looking?: Promise<ArchiveView>;
  private readonly decoded = new Map<string, { rows: Promise<ArchiveRow[]>; count: number }>();

  constructor(
    private readonly manifest: ArchiveManifest,
    private readonly store: ObjectStore,
    private readonly options: ArchiveReaderOptions = {},
  ) {}

  /**
   * The manifest as listed at most manifestTtlMs ago (`fresh`: listed now). One object, replaced whole: a read
   * that uses one view never mixes two listings (its files and its last position agree).
   */
  async current(fresh = false): Promise<ArchiveView> {
    if (!fresh && Date.now() - this.lookedAt <= (this.options.manifestTtlMs ?? 1_000)) return this.view;
    // One look at a time; callers meanwhile share it.
    this.looking ??= this.look().finally(() => (this.looking = undefined));
    return this.looking;
  }

  private async look(): Promise<ArchiveView> {
    // One indexed max() a second; the whole list only when something was sealed since.
    const through = await this.manifest.sealedThrough();
    if (through !== this.view.through) {
      const entries = await this.manifest.list();
      const listed = entries.reduce((max, e) => (e.toPosition > max ? e.toPosition : max), 0n);
      // Positions only grow: a listing older than the one held never replaces it.
      if (listed >= this.view.through) this.view = { through: listed, entries };
    }
    this.lookedAt = Date.now();
    return this.view;
  }

  /** The last sealed position (0: nothing sealed), as the manifest said at most manifestTtlMs ago. */
  async sealedThrough(): Promise<bigint> {
    return (await this.current()).through;
  }

  /** Up to maxCount events of the view's files after `after` (of these types), in position order. */
  async read(
    view: ArchiveView,
    after: bigint,
    maxCount: number,
    eventTypes?: readonly string[],
  ): Promise<RecordedEvent[]> {
    const wanted = eventTypes && new Set(eventTypes);
    const files = view.entries.filter(
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
    const cached = this.decoded.get(entry.objectKey);
    // Most recently used last.
    if (cached) this.decoded.delete(entry.objectKey);
    const held = cached ?? { rows: readSegment(this.store, entry), count: entry.rowCount };
    // A failed fetch is not kept: the next read tries again.
    if (!cached) held.rows.catch(() => this.decoded.delete(entry.objectKey));
    this.decoded.set(entry.objectKey, held);
    let rows = [...this.decoded.values()].reduce((sum, file) => sum + file.count, 0);
    for (const [key, file] of this.decoded) {
      if (rows <= (this.options.cachedRows ?? 300_000) || key === entry.objectKey) break;
      this.decoded.delete(key);
      rows -= file.count;
    }
    return held.rows;
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
