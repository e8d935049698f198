import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectExistsError, ObjectStore } from '../object-store.port';

const bytes = (text: string) => new TextEncoder().encode(text);
const key = () => `archive/t1/usage/2026-11/${randomUUID()}.parquet`;

/** The behaviour every ObjectStore adapter must show. */
export const objectStoreContract = (adapter: string, open: () => Promise<ObjectStore>) =>
  describe(`ObjectStore contract: ${adapter}`, () => {
    let store: ObjectStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(() => store.close());

    it('reads back the bytes put under a key', async () => {
      const k = key();
      await store.put(k, bytes('Zürich ☃ 12345678901234567890.123456789'));
      expect(await store.get(k)).toEqual(bytes('Zürich ☃ 12345678901234567890.123456789'));
    });

    it('answers undefined for a key never put', async () => {
      expect(await store.get(key())).toBeUndefined();
    });

    it('refuses a second put of a key and keeps the first bytes', async () => {
      const k = key();
      await store.put(k, bytes('first'));
      const second = store.put(k, bytes('second'));
      await expect(second).rejects.toBeInstanceOf(ObjectExistsError);
      await expect(second).rejects.toThrow(`archive object ${k} already exists`);
      expect(await store.get(k)).toEqual(bytes('first'));
    });

    it('refuses a key that would leave its folder', async () => {
      await expect(store.put('archive/../../etc/passwd', bytes('x'))).rejects.toThrow(/invalid archive object key/);
    });

    it('stores an empty object', async () => {
      const k = key();
      await store.put(k, new Uint8Array());
      expect(await store.get(k)).toEqual(new Uint8Array());
    });
  });
