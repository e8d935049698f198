import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FilesystemObjectStore } from './filesystem-object-store';
import { objectStoreContract } from './testing/object-store.contract';

const root = mkdtempSync(join(tmpdir(), 'tally-archive-fs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

objectStoreContract('filesystem', async () => new FilesystemObjectStore(root));

it('leaves no temporary file behind, also after a refused put', async () => {
  const store = new FilesystemObjectStore(root);
  await store.put('archive/t9/usage/2026-01/a.parquet', new Uint8Array([1]));
  await store.put('archive/t9/usage/2026-01/a.parquet', new Uint8Array([2])).catch(() => undefined);
  expect(readdirSync(join(root, 'archive/t9/usage/2026-01'))).toEqual(['a.parquet']);
});
