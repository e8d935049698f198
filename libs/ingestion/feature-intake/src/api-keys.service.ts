import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyRow, ApiKeyTables } from '@tally/ingestion/data-access-intake';
import { ApiKeyRequest } from '@tally/ingestion/domain';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { API_KEY_TABLES, INGESTION_DB } from './tokens';

/** `tally_` + 32 random bytes (base64url): 256 bits, so a plain SHA-256 is a safe stored form. */
const newKey = () => `tally_${randomBytes(32).toString('base64url')}`;
const hashOf = (key: string) => createHash('sha256').update(key).digest();

@Injectable()
export class ApiKeysService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(API_KEY_TABLES) private readonly tables: ApiKeyTables,
  ) {}

  /** Creates a key for the tenant; the key is returned here and never again. */
  async create(request: ApiKeyRequest, tenant = this.runtime.tenant): Promise<ApiKeyRow & { key: string }> {
    const key = newKey();
    const row = { id: randomUUID(), tenant, name: request.name, prefix: key.slice(0, 12), allowedSources: request.allowedSources, createdAt: this.runtime.clock().toISOString() };
    await this.tables.insert(this.db, { ...row, hash: hashOf(key) });
    return { ...row, revokedAt: null, key };
  }

  list(): Promise<ApiKeyRow[]> {
    return this.tables.list(this.db, this.runtime.tenant);
  }

  revoke(id: string): Promise<ApiKeyRow | undefined> {
    return this.tables.revoke(this.db, this.runtime.tenant, id, this.runtime.clock().toISOString());
  }

  /** The live key a producer presented, or undefined. One indexed lookup: revocation takes effect at once. */
  authenticate(key: string): Promise<ApiKeyRow | undefined> {
    return key.startsWith('tally_') ? this.tables.byHash(this.db, hashOf(key)) : Promise.resolve(undefined);
  }
}
