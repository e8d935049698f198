import type * as AwsS3 from '@aws-sdk/client-s3';
import { assertObjectKey, ObjectExistsError, ObjectStore, ObjectStoreUnavailableError } from './object-store.port';

export interface S3ObjectStoreOptions {
  endpoint: string;
  bucket: string;
  region?: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** A folder in the bucket for this installation's keys (e.g. its namespace), so installations can share one. */
  prefix?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which local S3-compatible servers need. Default true. */
  forcePathStyle?: boolean;
  /** How long a request may wait on a silent connection (no byte either way) before it fails (default 30 s). */
  requestTimeoutMs?: number;
  /**
   * Send `If-None-Match: *` on put so the server itself refuses an existing key (AWS S3 and recent MinIO do).
   * s3rver ignores the header, so by default the store heads the key first — see put().
   */
  conditionalPut?: boolean;
}

// Required when a store is made, not when this module loads: the AWS SDK adds ≈ 21 MB of resident memory to
// every process that loads it, and most processes never archive to S3 (docs/operations.md, "Memory").
let loaded: typeof AwsS3 | undefined;
const aws = (): typeof AwsS3 => (loaded ??= require('@aws-sdk/client-s3'));

const notFound = (error: unknown) =>
  error instanceof aws().S3ServiceException && (error.$metadata.httpStatusCode === 404 || error.name === 'NoSuchKey');

/** Archive objects in an S3-compatible bucket. */
export class S3ObjectStore implements ObjectStore {
  private readonly sdk = aws();
  private readonly client: AwsS3.S3Client;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.client = new this.sdk.S3Client({
      endpoint: options.endpoint,
      region: options.region ?? 'us-east-1',
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      // Checksums only where the API requires them: older S3-compatible servers reject the default trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // A store that is gone fails the seal promptly; the caller decides when to try again. A server that
      // accepts the connection and then goes silent fails it too (socketTimeout: that long without a byte)
      // instead of holding it: the SDK's requestTimeout alone only logs a warning.
      maxAttempts: 2,
      requestHandler: { connectionTimeout: 5_000, socketTimeout: options.requestTimeoutMs ?? 30_000 },
    });
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    assertObjectKey(key);
    const conditional = this.options.conditionalPut ?? false;
    try {
      // Without a conditional put this is head-then-put, which has a race: two writers of the same key that
      // both head before either puts both write, and the later one wins. The sealer is the only writer of
      // archive keys and seals one range at a time (its manifest insert is unique), and a key's content is
      // a pure function of its range, so the loser would write the same bytes.
      if (!conditional && (await this.exists(key))) throw new ObjectExistsError(key);
      await this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.objectName(key),
          Body: bytes,
          ContentType: 'application/vnd.apache.parquet',
          ...(conditional ? { IfNoneMatch: '*' } : {}),
        }),
      );
    } catch (error) {
      if (error instanceof ObjectExistsError) throw error;
      if (error instanceof this.sdk.S3ServiceException && error.$metadata.httpStatusCode === 412)
        throw new ObjectExistsError(key);
      throw new ObjectStoreUnavailableError(key, 'put', error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    assertObjectKey(key);
    try {
      const answer = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.options.bucket, Key: this.objectName(key) }),
      );
      return answer.Body ? await answer.Body.transformToByteArray() : new Uint8Array();
    } catch (error) {
      if (notFound(error)) return undefined;
      throw new ObjectStoreUnavailableError(key, 'get', error);
    }
  }

  private objectName(key: string): string {
    return this.options.prefix ? `${this.options.prefix}/${key}` : key;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(
        new this.sdk.HeadObjectCommand({ Bucket: this.options.bucket, Key: this.objectName(key) }),
      );
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }
}
