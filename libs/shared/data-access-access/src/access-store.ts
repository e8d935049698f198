import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { inTransaction, openPool } from '@tally/shared/data-access-pg-client';
import { messageOf } from '@tally/shared/util-core';

/** What an administrative credential may do within its tenant. Producer keys are ingestion's own (API keys). */
export type CredentialRole = 'admin' | 'billing-viewer';
export const credentialRoles: readonly CredentialRole[] = ['admin', 'billing-viewer'];

export interface TenantRow {
  id: string;
  name: string;
  createdAt: string;
}

export interface CredentialRow {
  id: string;
  tenant: string;
  role: CredentialRole;
  name: string;
  /** The first characters of the token, to recognise it in a list; the token itself is never stored. */
  prefix: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** The credential store could not be asked and the credential was not verified recently (see AccessStore.authenticate). */
export class AccessUnavailableError extends Error {}

/** Administrative credentials start with this, producer keys with `tally_`: the gate knows where to look from the token. */
export const credentialTokenPrefix = 'tallyadm_';
/** 32 random bytes: 256 bits, so a plain SHA-256 is a safe stored form (no slow hash needed against guessing). */
const newToken = () => `${credentialTokenPrefix}${randomBytes(32).toString('base64url')}`;
const hashOf = (token: string) => createHash('sha256').update(token).digest();

/** Last-used times are written at most once a minute per credential: a read per request, not a write. */
const lastUsedResolutionMs = 60_000;
/** Credentials remembered for outages: bounded however many are presented. */
const rememberedMax = 10_000;

const iso = (value: unknown) => (value ? (value as Date).toISOString() : null);
const toCredential = (r: Record<string, unknown>): CredentialRow => ({
  id: String(r.id),
  tenant: String(r.tenant),
  role: r.role as CredentialRole,
  name: String(r.name),
  prefix: String(r.prefix),
  createdAt: (r.created_at as Date).toISOString(),
  createdBy: String(r.created_by),
  expiresAt: iso(r.expires_at),
  revokedAt: iso(r.revoked_at),
  lastUsedAt: iso(r.last_used_at),
});
const toTenant = (r: Record<string, unknown>): TenantRow => ({
  id: String(r.id),
  name: String(r.name),
  createdAt: (r.created_at as Date).toISOString(),
});

const schemaSql = (schema: string) => `
  create schema if not exists "${schema}";
  create table if not exists "${schema}".tenants (
    id text primary key,
    name text not null,
    created_at timestamptz not null
  );
  create table if not exists "${schema}".credentials (
    id uuid primary key,
    tenant text not null references "${schema}".tenants (id),
    role text not null check (role in ('admin', 'billing-viewer')),
    name text not null,
    prefix text not null,
    token_hash bytea not null unique,
    created_at timestamptz not null,
    created_by text not null,
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz
  );
  create index if not exists credentials_by_tenant on "${schema}".credentials (tenant, created_at);
`;

/**
 * Tenants and their administrative credentials: platform infrastructure shared by the four apps, like the
 * ledger and the embedded bus (each app checks every admin request against it; no app owns it). Access
 * control is not a billing fact, so it lives here rather than in the ledger: a revocation is one update
 * that every process sees on its next request, not an event each app must first project.
 */
export class AccessStore {
  private readonly pool: Pool;
  /** Token hash (hex) → the live credential as last verified, and when. Read only while Postgres cannot be asked. */
  private readonly verified = new Map<string, { row: CredentialRow; at: number }>();

  constructor(
    private readonly options: {
      connectionString: string;
      schema: string;
      outageGraceMs: number;
      onError?: (error: unknown) => void;
    },
  ) {
    // A connection the server ends while this store closes (Postgres stopping after it) is expected, not news.
    this.pool = openPool({
      connectionString: options.connectionString,
      max: 3,
      onError: (error) => (this.closing ? undefined : options.onError?.(error)),
    });
  }

  /** Last-use writes in flight (bookkeeping nobody awaits): close() lets them finish. */
  private readonly bookkeeping = new Set<Promise<unknown>>();
  private closing = false;

  /** Creates the schema (serialised across processes) and the default tenant, which always exists. */
  async init(defaultTenant: string): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.options.schema}.ddl`]);
      await client.query(schemaSql(this.options.schema));
      await client.query(
        `insert into "${this.options.schema}".tenants (id, name, created_at) values ($1, $1, now()) on conflict do nothing`,
        [defaultTenant],
      );
    });
  }

  /** Creates a tenant once; the same id again answers the existing tenant with `created: false`. */
  async createTenant(id: string, name: string, at: string): Promise<{ created: boolean; tenant: TenantRow }> {
    const inserted: Record<string, unknown>[] = (
      await this.pool.query(
        `insert into "${this.options.schema}".tenants (id, name, created_at) values ($1, $2, $3) on conflict do nothing returning *`,
        [id, name, at],
      )
    ).rows;
    if (inserted[0]) return { created: true, tenant: toTenant(inserted[0]) };
    return { created: false, tenant: (await this.tenant(id)) as TenantRow };
  }

  async tenant(id: string): Promise<TenantRow | undefined> {
    const rows: Record<string, unknown>[] = (
      await this.pool.query(`select * from "${this.options.schema}".tenants where id = $1`, [id])
    ).rows;
    return rows[0] && toTenant(rows[0]);
  }

  async tenants(): Promise<TenantRow[]> {
    return (await this.pool.query(`select * from "${this.options.schema}".tenants order by id`)).rows.map(toTenant);
  }

  /** Issues a credential; its token is returned here and never again. */
  async issue(request: {
    tenant: string;
    role: CredentialRole;
    name: string;
    expiresAt?: string;
    createdBy: string;
    at: string;
  }): Promise<CredentialRow & { token: string }> {
    const token = newToken();
    const rows: Record<string, unknown>[] = (
      await this.pool.query(
        `insert into "${this.options.schema}".credentials (id, tenant, role, name, prefix, token_hash, created_at, created_by, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *`,
        [
          randomUUID(),
          request.tenant,
          request.role,
          request.name,
          token.slice(0, credentialTokenPrefix.length + 6),
          hashOf(token),
          request.at,
          request.createdBy,
          request.expiresAt ?? null,
        ],
      )
    ).rows;
    return { ...toCredential(rows[0]), token };
  }

  async list(tenant: string): Promise<CredentialRow[]> {
    return (
      await this.pool.query(
        `select * from "${this.options.schema}".credentials where tenant = $1 order by created_at, id`,
        [tenant],
      )
    ).rows.map(toCredential);
  }

  /** Revokes once (a second revocation keeps the first time); undefined for an id unknown in this tenant. */
  async revoke(tenant: string, id: string, at: string): Promise<CredentialRow | undefined> {
    const rows: Record<string, unknown>[] = (
      await this.pool.query(
        `update "${this.options.schema}".credentials set revoked_at = coalesce(revoked_at, $3) where tenant = $1 and id = $2 returning *`,
        [tenant, id, at],
      )
    ).rows;
    return rows[0] && toCredential(rows[0]);
  }

  /**
   * The live credential behind a token (not revoked, not expired at `now`), or undefined. One indexed
   * lookup per request, so a revocation takes effect at once in every process. While Postgres cannot be
   * asked, a credential verified within the outage grace is taken from memory (expiry still applies);
   * any other token throws AccessUnavailableError (the gate answers 503, never 401).
   */
  async authenticate(token: string, now: Date): Promise<CredentialRow | undefined> {
    if (!token.startsWith(credentialTokenPrefix)) return undefined;
    const hash = hashOf(token);
    const key = hash.toString('hex');
    let row: CredentialRow | undefined;
    try {
      const rows: Record<string, unknown>[] = (
        await this.pool.query(
          `select * from "${this.options.schema}".credentials where token_hash = $1 and revoked_at is null`,
          [hash],
        )
      ).rows;
      row = rows[0] && toCredential(rows[0]);
    } catch (error) {
      const remembered = this.verified.get(key);
      if (remembered && Date.now() - remembered.at <= this.options.outageGraceMs)
        return live(remembered.row, now) ? remembered.row : undefined;
      throw new AccessUnavailableError(`credentials cannot be read: ${messageOf(error)}`);
    }
    this.verified.delete(key);
    if (!row || !live(row, now)) return undefined;
    if (this.verified.size >= rememberedMax) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, { row, at: Date.now() });
    if (!row.lastUsedAt || now.getTime() - Date.parse(row.lastUsedAt) >= lastUsedResolutionMs) {
      // Bookkeeping, not a condition of access: a failure here must not fail the request it describes.
      const write = this.pool
        .query(`update "${this.options.schema}".credentials set last_used_at = $2 where id = $1`, [
          row.id,
          now.toISOString(),
        ])
        .catch((error) => this.options.onError?.(error))
        .finally(() => this.bookkeeping.delete(write));
      this.bookkeeping.add(write);
    }
    return row;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.bookkeeping);
    await this.pool.end().catch(() => undefined);
  }
}

const live = (row: CredentialRow, now: Date) => row.expiresAt === null || Date.parse(row.expiresAt) > now.getTime();
