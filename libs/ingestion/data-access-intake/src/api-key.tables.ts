import { DataSource } from 'typeorm';
import { returnedRows } from '@tally/shared/data-access-postgres';

export interface ApiKeyRow {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  allowedSources: string[];
  createdAt: string;
  revokedAt: string | null;
}

const toRow = (r: Record<string, unknown>): ApiKeyRow => ({
  id: String(r.id),
  tenant: String(r.tenant),
  name: String(r.name),
  prefix: String(r.prefix),
  allowedSources: r.allowed_sources as string[],
  createdAt: (r.created_at as Date).toISOString(),
  revokedAt: r.revoked_at ? (r.revoked_at as Date).toISOString() : null,
});

export class ApiKeyTables {
  constructor(private readonly schema: string) {}

  async insert(db: DataSource, key: Omit<ApiKeyRow, 'revokedAt'> & { hash: Buffer }): Promise<void> {
    await db.query(
      `insert into "${this.schema}".api_keys (id, tenant, name, prefix, key_hash, allowed_sources, created_at) values ($1, $2, $3, $4, $5, $6, $7)`,
      [key.id, key.tenant, key.name, key.prefix, key.hash, key.allowedSources, key.createdAt],
    );
  }

  /** The live (not revoked) key with this hash. */
  async byHash(db: DataSource, hash: Buffer): Promise<ApiKeyRow | undefined> {
    const rows: Record<string, unknown>[] = await db.query(
      `select * from "${this.schema}".api_keys where key_hash = $1 and revoked_at is null`,
      [hash],
    );
    return rows[0] && toRow(rows[0]);
  }

  async list(db: DataSource, tenant: string): Promise<ApiKeyRow[]> {
    const rows: Record<string, unknown>[] = await db.query(
      `select * from "${this.schema}".api_keys where tenant = $1 order by created_at, id`,
      [tenant],
    );
    return rows.map(toRow);
  }

  /** Revokes once; revoking again keeps the first revocation time. Returns undefined for an unknown id. */
  async revoke(db: DataSource, tenant: string, id: string, at: string): Promise<ApiKeyRow | undefined> {
    const rows = returnedRows<Record<string, unknown>>(
      await db.query(
        `update "${this.schema}".api_keys set revoked_at = coalesce(revoked_at, $3) where tenant = $1 and id = $2 returning *`,
        [tenant, id, at],
      ),
    );
    return rows[0] && toRow(rows[0]);
  }
}
