import { createHash } from 'node:crypto';
import type { ArchiveRow } from './archive-row';

/** What one archive file holds: the rows of one tenant's stream category in one UTC month. */
export interface Partition {
  tenant: string;
  category: string;
  /** yyyy-mm, UTC, of the rows' recorded_at. */
  month: string;
}

export interface Segment extends Partition {
  rows: ArchiveRow[];
  fromPosition: bigint;
  toPosition: bigint;
}

/**
 * Stream names are `{category}-{tenant}_{id}` (STYLE.md: the category has no dash, the tenant no underscore).
 * A name that does not follow it is still archived, under tenant `_` and its whole name's head as category,
 * so no ledger row is ever left out of a sealed range.
 */
export const partitionOfStream = (streamName: string): Pick<Partition, 'tenant' | 'category'> => {
  const dash = streamName.indexOf('-');
  const underscore = streamName.indexOf('_', dash + 1);
  if (dash <= 0 || underscore <= dash + 1) return { tenant: '_', category: safeSegment(streamName.split(/[-_.]/)[0]) };
  return {
    category: safeSegment(streamName.slice(0, dash)),
    tenant: safeSegment(streamName.slice(dash + 1, underscore)),
  };
};

/** A path segment that cannot climb out of its folder or split in two. */
const safeSegment = (value: string): string => value.replace(/[^A-Za-z0-9._=-]/g, '~').replace(/^\.+/, '~') || '~';

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** yyyy-mm of an instant in microseconds since the epoch, UTC. */
export const utcMonthOfMicros = (micros: bigint): string => {
  const date = new Date(Number(micros / 1000n));
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}`;
};

/**
 * Rows (ordered by global position) split by partition, each group keeping that order. Groups come out in
 * the order of their first row, so a seal writes files in a stable order.
 */
export const segmentsOf = (rows: readonly ArchiveRow[]): Segment[] => {
  const groups = new Map<string, Segment>();
  for (const row of rows) {
    const partition = { ...partitionOfStream(row.streamName), month: utcMonthOfMicros(row.recordedAtMicros) };
    const id = `${partition.tenant}/${partition.category}/${partition.month}`;
    const group = groups.get(id);
    if (group) {
      group.rows.push(row);
      group.toPosition = row.globalPosition;
    } else {
      groups.set(id, { ...partition, rows: [row], fromPosition: row.globalPosition, toPosition: row.globalPosition });
    }
  }
  return [...groups.values()];
};

/**
 * The leading run of rows recorded before the cutoff. Sealing stops at the first younger row, so a sealed
 * range is always a contiguous run of global positions: with positions visible in commit order (the
 * ledger's invariant), nothing can later appear inside a range already sealed.
 */
export const sealableRun = (rows: readonly ArchiveRow[], cutoffMicros: bigint): ArchiveRow[] => {
  const firstYoung = rows.findIndex((row) => row.recordedAtMicros >= cutoffMicros);
  return firstYoung === -1 ? [...rows] : rows.slice(0, firstYoung);
};

/** Positions are zero-padded to 19 digits (a bigint's width) so keys sort in position order. */
export const segmentKey = (segment: Partition & { fromPosition: bigint; toPosition: bigint }): string =>
  `archive/${segment.tenant}/${segment.category}/${segment.month}/${segment.fromPosition.toString().padStart(19, '0')}-${segment.toPosition.toString().padStart(19, '0')}.parquet`;

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
