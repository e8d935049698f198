export type ArchiveErrorCode =
  /** The manifest names a file the store does not have. */
  | 'archive-file-missing'
  /** The file's bytes differ from what was sealed (checksum, row count or position range). */
  | 'archive-file-altered'
  /** A seal found another file, with other bytes, already under the key it must write. */
  | 'archive-key-conflict'
  /** Another seal recorded ranges while this one was writing its files. */
  | 'archive-concurrent-seal'
  /** The hot ledger's rows in a file's range are not the file's rows: nothing was pruned. */
  | 'archive-prune-mismatch'
  /** The caller's signal aborted (a pass's lock was lost): stopped between two runs or files; what was done stays. */
  | 'archive-interrupted';

export class ArchiveError extends Error {
  constructor(
    readonly code: ArchiveErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ArchiveError';
  }
}

/** Stops a seal or a prune between two steps once its signal has aborted (each step is whole on its own). */
export const stopIfAborted = (signal: AbortSignal | undefined, done: string): void => {
  if (signal?.aborted)
    throw new ArchiveError('archive-interrupted', `stopped (${signal.reason ?? 'aborted'}) after ${done}`);
};
