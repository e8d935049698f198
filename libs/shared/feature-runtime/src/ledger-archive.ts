import type { Pool } from 'pg';
import {
  ArchiveManifest,
  ArchiveReader,
  FilesystemObjectStore,
  ObjectStore,
  S3ObjectStore,
} from '@tally/shared/data-access-archive';
import { openPool } from '@tally/shared/data-access-pg-client';
import { ArchiveSettings } from '@tally/shared/util-config';
import { messageOf } from '@tally/shared/util-core';
import type { Logger } from '@tally/shared/util-telemetry';

/** The archive's settings when it is on. */
export type ArchiveOn = Exclude<ArchiveSettings, { store: 'off' }>;

/**
 * The ledger's cold tier as a process holds it (TALLY_ARCHIVE not off): the object store, the manifest in the
 * ledger's schema, the reader every read of the ledger goes through (TieredEventStore), and a small pool of its
 * own for the seal and prune passes (which read the ledger's rows directly and delete under its prune guard).
 */
export interface LedgerArchive {
  settings: ArchiveOn;
  store: ObjectStore;
  manifest: ArchiveManifest;
  reader: ArchiveReader;
  pool: Pool;
  ledgerSchema: string;
  close(): Promise<void>;
}

const objectStoreOf = (settings: ArchiveOn): ObjectStore =>
  settings.store === 'filesystem' ? new FilesystemObjectStore(settings.dir) : new S3ObjectStore(settings.s3);

/** Opens the archive beside the Postgres ledger in `ledgerSchema` (which exists by now): its manifest's DDL is idempotent. */
export const openLedgerArchive = async (
  settings: ArchiveOn,
  connectionString: string,
  ledgerSchema: string,
  log: Logger,
): Promise<LedgerArchive> => {
  const store = objectStoreOf(settings);
  // Two: a pass holds one through a prune's transaction, and the readers' manifest looks must not wait behind it.
  const pool = openPool({
    connectionString,
    max: 2,
    onError: (error) => log.warn({ reason: messageOf(error) }, 'archive pool connection lost'),
  });
  const close = async () => {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  };
  const manifest = new ArchiveManifest(pool, ledgerSchema);
  try {
    await manifest.init();
  } catch (error) {
    await close();
    throw error;
  }
  return { settings, store, manifest, reader: new ArchiveReader(manifest, store), pool, ledgerSchema, close };
};
