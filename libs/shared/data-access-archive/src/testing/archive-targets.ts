import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemObjectStore } from '../filesystem-object-store';
import type { ObjectStore } from '../object-store.port';
import { LocalS3 } from './local-s3';

/** An object store of one test's own, with ways to lose or damage a stored object behind its back. */
export interface IsolatedStore {
  store: ObjectStore;
  remove(key: string): void;
  alterOneByte(key: string): void;
}

/** A kind of object store under test: one server (or root) per suite, an isolated store per test. */
export interface ArchiveTarget {
  isolated(): IsolatedStore;
  /** The S3 server, to take it away and bring it back (S3 only). */
  s3?: LocalS3;
  dispose(): Promise<void>;
}

const flipByte = (path: string) => {
  const bytes = readFileSync(path);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  writeFileSync(path, bytes);
};

export const filesystemTarget = async (): Promise<ArchiveTarget> => {
  const parent = mkdtempSync(join(tmpdir(), 'tally-archive-'));
  return {
    isolated: () => {
      const root = join(parent, randomBytes(5).toString('hex'));
      return {
        store: new FilesystemObjectStore(root),
        remove: (key) => rmSync(join(root, key)),
        alterOneByte: (key) => flipByte(join(root, key)),
      };
    },
    dispose: async () => rmSync(parent, { recursive: true, force: true }),
  };
};

export const s3Target = async (): Promise<ArchiveTarget> => {
  const s3 = await LocalS3.start();
  const stores: ObjectStore[] = [];
  return {
    s3,
    isolated: () => {
      const prefix = `t${randomBytes(5).toString('hex')}`;
      const store = s3.store(prefix);
      stores.push(store);
      return {
        store,
        // s3rver keeps each object as a file beside its metadata: removing the file loses the object's bytes.
        remove: (key) => rmSync(s3.objectPath(key, prefix)),
        alterOneByte: (key) => flipByte(s3.objectPath(key, prefix)),
      };
    },
    dispose: async () => {
      for (const store of stores) await store.close();
      await s3.dispose();
    },
  };
};
