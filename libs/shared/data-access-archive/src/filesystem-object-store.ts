import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { assertObjectKey, ObjectExistsError, ObjectStore } from './object-store.port';

/**
 * Archive objects as files under a root directory (embedded mode). A put writes a temporary file, fsyncs
 * it, then hard-links it to its key: link(2) fails when the target exists, so of two writers of one key
 * exactly one wins and nothing is ever overwritten (rename(2) would silently replace). The directory is
 * fsynced so the new name survives a crash.
 */
export class FilesystemObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertObjectKey(key);
    const target = join(this.root, key);
    const folder = dirname(target);
    await mkdir(folder, { recursive: true });
    const temporary = join(folder, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const handle = await open(temporary, 'wx');
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await link(temporary, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ObjectExistsError(key);
      throw error;
    } finally {
      // Gone on every path: after a link the key holds the bytes; after a failed write nothing was published.
      await unlink(temporary).catch(() => undefined);
    }
    const directory = await open(folder, 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    assertObjectKey(key);
    try {
      return new Uint8Array(await readFile(join(this.root, key)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Nothing is held open between calls. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
