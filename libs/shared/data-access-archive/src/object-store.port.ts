/**
 * Where archive files live. Write-once: `put` of a key that already exists is refused
 * (ObjectExistsError) and the stored object is left as it was — a sealed file is never overwritten.
 */
export interface ObjectStore {
  /** Stores the bytes under the key; refuses a key that exists. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

export class ObjectExistsError extends Error {
  readonly code = 'archive-object-exists';
  constructor(readonly key: string) {
    super(`archive object ${key} already exists; archive objects are written once and never overwritten`);
    this.name = 'ObjectExistsError';
  }
}

/** The store could not be reached or answered with a failure: nothing is known to be written. */
export class ObjectStoreUnavailableError extends Error {
  readonly code = 'archive-store-unavailable';
  constructor(
    readonly key: string,
    readonly operation: 'put' | 'get',
    cause: unknown,
  ) {
    super(
      `archive store unavailable (${operation} ${key}): ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'ObjectStoreUnavailableError';
  }
}

/** Keys are relative paths of safe segments: no `..`, no absolute path, no empty segment. */
export const assertObjectKey = (key: string): void => {
  const segments = key.split('/');
  if (key.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..' || !/^[\w.=~-]+$/.test(s))) {
    throw new Error(`invalid archive object key: ${JSON.stringify(key)}`);
  }
};
