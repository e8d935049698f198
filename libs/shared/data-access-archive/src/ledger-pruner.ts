import type { Pool } from 'pg';
import { inTransaction } from '@tally/shared/data-access-pg-client';
import { ArchiveError, stopIfAborted } from './archive.errors';
import type { ArchiveManifest, ManifestEntry } from './archive-manifest';
import type { ObjectStore } from './object-store.port';
import { readSegment } from './segment-reader';

export interface PruneOptions {
  pool: Pool;
  ledgerSchema: string;
  manifest: ArchiveManifest;
  store: ObjectStore;
  /** Stream categories whose sealed rows leave the hot ledger (default: usage only). */
  categories?: readonly string[];
  /**
   * Only files sealed at least this long ago (default one hour): a reader that looked at the manifest less
   * than this long ago and chose the hot ledger for a position can never find that position pruned under it.
   */
  minSealedAgeMs?: number;
  /** Files handled per call (each in a transaction of its own). */
  limit?: number;
  /** Checked before every file (each file's prune is one transaction): once aborted, archive-interrupted. */
  signal?: AbortSignal;
}

export interface PruneReport {
  files: number;
  rows: number;
}

interface Deleted {
  global_position: string;
  event_id: string;
  stream_name: string;
  stream_revision: string;
  event_type: string;
  data: string;
  metadata: string;
}

/**
 * Removes the rows of sealed files from the hot ledger, file by file. Each file is fetched and verified first
 * (checksum, row count, positions: readSegment); then one transaction deletes exactly the file's positions,
 * checks that what it deleted is the file's rows (every column), keeps the ids and each stream's last
 * revision (so an id is still appended once only, and revisions go on), and marks the file pruned. Any
 * difference rolls it all back (archive-prune-mismatch): a row is never gone from both the ledger and a file.
 */
export const pruneSealed = async (options: PruneOptions): Promise<PruneReport> => {
  const report: PruneReport = { files: 0, rows: 0 };
  const ageMs = options.minSealedAgeMs ?? 3_600_000;
  const { rows } = await options.pool.query<{ now: Date }>('select now() as now');
  const entries = await options.manifest.unpruned({
    categories: options.categories ?? ['usage'],
    sealedBefore: new Date(rows[0].now.getTime() - ageMs),
    limit: options.limit ?? 1_000,
  });
  for (const entry of entries) {
    stopIfAborted(options.signal, `pruning ${report.files} files (${report.rows} rows)`);
    report.rows += await pruneFile(options, entry);
    report.files += 1;
  }
  return report;
};

const pruneFile = async (options: PruneOptions, entry: ManifestEntry): Promise<number> => {
  const fileRows = await readSegment(options.store, entry);
  const s = options.ledgerSchema;
  return inTransaction(options.pool, async (client) => {
    await client.query(`set local tally.ledger_prune = 'on'`);
    const { rows: deleted } = await client.query<Deleted>(
      `delete from "${s}".events where global_position = any($1::bigint[])
        returning global_position::text, event_id::text, stream_name, stream_revision::text, event_type,
                  data::text as data, metadata::text as metadata`,
      [fileRows.map((row) => row.globalPosition.toString())],
    );
    const byPosition = new Map(deleted.map((row) => [row.global_position, row]));
    const differs = fileRows.find((row) => {
      const hot = byPosition.get(row.globalPosition.toString());
      // Every column the file keeps, the JSON as the same text it was sealed from: an encoding fault is caught
      // here, while the hot copy still exists.
      return (
        !hot ||
        hot.event_id !== row.eventId ||
        hot.stream_name !== row.streamName ||
        hot.stream_revision !== row.streamRevision.toString() ||
        hot.event_type !== row.eventType ||
        hot.data !== row.data ||
        hot.metadata !== row.metadata
      );
    });
    if (differs || deleted.length !== fileRows.length) {
      throw new ArchiveError(
        'archive-prune-mismatch',
        `${entry.objectKey}: the hot ledger holds ${deleted.length} of its ${fileRows.length} rows` +
          (differs ? `, and position ${differs.globalPosition} differs from the file` : '') +
          '; nothing was pruned',
      );
    }
    await client.query(
      `insert into "${s}".pruned_event_ids (event_id) select unnest($1::uuid[]) on conflict do nothing`,
      [deleted.map((row) => row.event_id)],
    );
    await client.query(
      `insert into "${s}".pruned_streams (stream_name, last_revision)
       select stream_name, max(revision) from unnest($1::text[], $2::bigint[]) as x(stream_name, revision) group by 1
       on conflict (stream_name) do update set last_revision = greatest(pruned_streams.last_revision, excluded.last_revision)`,
      [deleted.map((row) => row.stream_name), deleted.map((row) => row.stream_revision)],
    );
    await client.query(
      `insert into "${s}".pruned_through (through) values ($1)
       on conflict (one) do update set through = greatest(pruned_through.through, excluded.through)`,
      [entry.toPosition.toString()],
    );
    await options.manifest.markPruned(client, entry);
    return deleted.length;
  });
};
