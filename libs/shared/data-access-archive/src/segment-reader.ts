import { ArchiveError } from './archive.errors';
import type { ManifestEntry } from './archive-manifest';
import { sha256Hex } from './archive-partition';
import type { ArchiveRow } from './archive-row';
import type { ObjectStore } from './object-store.port';
import { decodeSegment } from './segment.parquet';

const describe = (entry: ManifestEntry) =>
  `${entry.objectKey} (tenant ${entry.tenant}, ${entry.category}, ${entry.month}, positions ${entry.fromPosition}–${entry.toPosition})`;

/**
 * The rows of one sealed file, verified against its manifest entry before a row is decoded: the bytes'
 * sha256, then the row count and the first and last positions.
 */
export const readSegment = async (store: ObjectStore, entry: ManifestEntry): Promise<ArchiveRow[]> => {
  const bytes = await store.get(entry.objectKey);
  if (!bytes) throw new ArchiveError('archive-file-missing', `${describe(entry)} is not in the archive store`);
  const sha256 = sha256Hex(bytes);
  if (sha256 !== entry.sha256) {
    throw new ArchiveError(
      'archive-file-altered',
      `${describe(entry)} has sha256 ${sha256}, sealed as ${entry.sha256}`,
    );
  }
  const rows = await decodeSegment(bytes);
  if (
    rows.length !== entry.rowCount ||
    rows[0]?.globalPosition !== entry.fromPosition ||
    rows.at(-1)?.globalPosition !== entry.toPosition
  ) {
    throw new ArchiveError(
      'archive-file-altered',
      `${describe(entry)} holds ${rows.length} rows from ${rows[0]?.globalPosition} to ${rows.at(-1)?.globalPosition}, sealed as ${entry.rowCount}`,
    );
  }
  return rows;
};
