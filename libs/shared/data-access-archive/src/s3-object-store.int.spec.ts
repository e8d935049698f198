import { createServer, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ObjectStore } from './s3-object-store';
import { ObjectStoreUnavailableError } from './object-store.port';
import { LocalS3 } from './testing/local-s3';
import { objectStoreContract } from './testing/object-store.contract';

let s3: LocalS3;
beforeAll(async () => {
  s3 = await LocalS3.start();
});
afterAll(() => s3.dispose());

objectStoreContract('S3 (s3rver)', async () => s3.store());

describe('S3 store when the server is gone', () => {
  it('fails a put and a get with archive-store-unavailable, and works again once the server is back', async () => {
    const store = s3.store();
    await s3.stop();
    try {
      const put = store.put('archive/t1/usage/2026-11/gone.parquet', new Uint8Array([1]));
      await expect(put).rejects.toBeInstanceOf(ObjectStoreUnavailableError);
      await expect(put).rejects.toThrow(/archive store unavailable \(put archive\/t1\/usage\/2026-11\/gone.parquet\)/);
      await expect(store.get('archive/t1/usage/2026-11/gone.parquet')).rejects.toBeInstanceOf(
        ObjectStoreUnavailableError,
      );
    } finally {
      await s3.resume();
    }
    await store.put('archive/t1/usage/2026-11/gone.parquet', new Uint8Array([1]));
    expect(await store.get('archive/t1/usage/2026-11/gone.parquet')).toEqual(new Uint8Array([1]));
    await store.close();
  });
});

describe('S3 store when the server accepts and never answers', () => {
  it('fails the put with archive-store-unavailable instead of waiting for ever', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const store = new S3ObjectStore({
      endpoint: `http://127.0.0.1:${port}`,
      bucket: 'b',
      accessKeyId: 'x',
      secretAccessKey: 'y',
      requestTimeoutMs: 200,
    });
    try {
      await expect(store.put('archive/t1/usage/2026-11/silent.parquet', new Uint8Array([1]))).rejects.toBeInstanceOf(
        ObjectStoreUnavailableError,
      );
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
