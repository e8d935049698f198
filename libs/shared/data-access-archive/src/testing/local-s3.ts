import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@tally/shared/testing';
import { S3ObjectStore } from '../s3-object-store';

interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: {
  port: number;
  address: string;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverServer;

// s3rver ships no types and is a test-only dependency: loaded here, never from the library's index.
const S3rver = createRequire(__filename)('s3rver') as S3rverClass;

/**
 * A real S3-compatible server (s3rver) of a test's own: its own port and directory, stoppable and
 * restartable on the same port with the same objects, to test what the archive does when S3 is gone.
 */
export class LocalS3 {
  private server?: S3rverServer;
  readonly bucket = 'tally-archive';

  private constructor(
    readonly port: number,
    private readonly directory: string,
  ) {}

  static async start(): Promise<LocalS3> {
    const s3 = new LocalS3(await freePort(), mkdtempSync(join(tmpdir(), 'tally-s3-')));
    await s3.resume();
    return s3;
  }

  async resume(): Promise<void> {
    if (this.server) return;
    const server = new S3rver({
      port: this.port,
      address: '127.0.0.1',
      silent: true,
      directory: this.directory,
      configureBuckets: [{ name: this.bucket }],
    });
    await server.run();
    this.server = server;
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  store(prefix?: string): S3ObjectStore {
    return new S3ObjectStore({
      prefix,
      endpoint: `http://127.0.0.1:${this.port}`,
      bucket: this.bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    });
  }

  /** Where s3rver keeps an object's bytes on disk (to alter one behind the store's back). */
  objectPath(key: string, prefix?: string): string {
    return join(this.directory, this.bucket, ...(prefix ? [prefix] : []), `${key}._S3rver_object`);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
