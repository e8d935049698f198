import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyRow, ApiKeyTables } from '@tally/ingestion/data-access-intake';
import { ApiKeyRequest } from '@tally/ingestion/domain';
import { Clock, CLOCK, CONFIG, Log, LOG, ProblemException, problemType, Tenancy } from '@tally/shared/feature-runtime';
import { API_KEY_TABLES, INGESTION_DB } from './tokens';
import { messageOf } from '@tally/shared/util-core';
import { TallyConfig } from '@tally/shared/util-config';

/** `tally_` + 32 random bytes (base64url): 256 bits, so a plain SHA-256 is a safe stored form. */
const newKey = () => `tally_${randomBytes(32).toString('base64url')}`;
const hashOf = (key: string) => createHash('sha256').update(key).digest();

/** Keys remembered for outages: enough for every producer of a large installation, bounded all the same. */
const rememberedKeysMax = 10_000;

@Injectable()
export class ApiKeysService {
  /** Key hash (hex) → the live key as last verified in Postgres, and when. Only read while Postgres is unreachable. */
  private readonly verified = new Map<string, { row: ApiKeyRow; at: number }>();

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(LOG) private readonly log: Log,
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(API_KEY_TABLES) private readonly tables: ApiKeyTables,
  ) {}

  /** Creates a key for the tenant; the key is returned here and never again. */
  async create(request: ApiKeyRequest, tenant = this.tenancy.current): Promise<ApiKeyRow & { key: string }> {
    const key = newKey();
    const row = {
      id: randomUUID(),
      tenant,
      name: request.name,
      prefix: key.slice(0, 12),
      allowedSources: request.allowedSources,
      createdAt: this.clock().toISOString(),
    };
    await this.tables.insert(this.db, { ...row, hash: hashOf(key) });
    return { ...row, revokedAt: null, key };
  }

  list(): Promise<ApiKeyRow[]> {
    return this.tables.list(this.db, this.tenancy.current);
  }

  revoke(id: string): Promise<ApiKeyRow | undefined> {
    return this.tables.revoke(this.db, this.tenancy.current, id, this.clock().toISOString());
  }

  /**
   * The live key a producer presented, or undefined. One indexed lookup: revocation takes effect at once.
   * While Postgres cannot be asked, a key verified within TALLY_API_KEY_OUTAGE_GRACE_SECONDS is taken from
   * memory, so intake keeps accepting into the stream through a brief outage (a key revoked just before it
   * stops working within that bound); any other key gets 503 + Retry-After, never a 500 and never a 401.
   */
  async authenticate(key: string): Promise<ApiKeyRow | undefined> {
    if (!key.startsWith('tally_')) return undefined;
    const hash = hashOf(key);
    const id = hash.toString('hex');
    let row: ApiKeyRow | undefined;
    try {
      row = await this.tables.byHash(this.db, hash);
    } catch (error) {
      const remembered = this.verified.get(id);
      const graceMs = this.config.TALLY_API_KEY_OUTAGE_GRACE_SECONDS * 1_000;
      if (remembered && Date.now() - remembered.at <= graceMs) return remembered.row;
      this.log.warn({ reason: messageOf(error) }, 'API keys cannot be read: answering 503');
      throw new ProblemException({
        type: problemType('auth-unavailable'),
        title: 'Credentials cannot be checked',
        status: 503,
        detail: 'the API key store is unreachable right now and this key was not verified recently; retry shortly',
      });
    }
    this.verified.delete(id);
    if (row) {
      if (this.verified.size >= rememberedKeysMax) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(id, { row, at: Date.now() });
    }
    return row;
  }
}
