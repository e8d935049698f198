import type { Pool, PoolClient } from 'pg';
import { inTransaction } from '@tally/shared/data-access-pg-client';
import { ArchiveError } from './archive.errors';
import { manifestSchemaSql } from './manifest.sql';

/** One sealed, write-once archive file as the manifest records it. */
export interface ManifestEntry {
  tenant: string;
  category: string;
  month: string;
  fromPosition: bigint;
  toPosition: bigint;
  rowCount: number;
  sha256: string;
  objectKey: string;
  sealedAt: Date;
}

interface Row {
  tenant: string;
  category: string;
  month: string;
  from_position: string;
  to_position: string;
  row_count: string;
  sha256: string;
  object_key: string;
  sealed_at: Date;
}

const toEntry = (row: Row): ManifestEntry => ({
  tenant: row.tenant,
  category: row.category,
  month: row.month,
  fromPosition: BigInt(row.from_position),
  toPosition: BigInt(row.to_position),
  rowCount: Number(row.row_count),
  sha256: row.sha256,
  objectKey: row.object_key,
  sealedAt: row.sealed_at,
});

/** The archive's manifest: a table `archive_segments` in the given schema. */
export class ArchiveManifest {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
  ) {}

  async init(): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.archive-ddl`]);
      await client.query(manifestSchemaSql(this.schema));
    });
  }

  /** The highest global position sealed (0 when nothing is): every position up to it is in a file. */
  async sealedThrough(client: Pick<PoolClient, 'query'> = this.pool): Promise<bigint> {
    const { rows } = await client.query<{ through: string }>(
      `select coalesce(max(to_position), 0)::text as through from "${this.schema}".archive_segments`,
    );
    return BigInt(rows[0].through);
  }

  /**
   * Records the files of one sealed run in one transaction, only if nothing was sealed since `after` was
   * read: two sealers at once cannot both record a run (the second fails with archive-concurrent-seal).
   */
  async record(after: bigint, entries: readonly Omit<ManifestEntry, 'sealedAt'>[]): Promise<ManifestEntry[]> {
    return inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.archive-seal`]);
      const through = await this.sealedThrough(client);
      if (through !== after) {
        throw new ArchiveError(
          'archive-concurrent-seal',
          `positions up to ${through} were sealed while this seal wrote files after ${after}`,
        );
      }
      const { rows } = await client.query<Row>(
        `insert into "${this.schema}".archive_segments
           (tenant, category, month, from_position, to_position, row_count, sha256, object_key)
         select * from jsonb_to_recordset($1::jsonb) as x(tenant text, category text, month text,
           from_position bigint, to_position bigint, row_count bigint, sha256 text, object_key text)
         returning *`,
        [
          JSON.stringify(
            entries.map((e) => ({
              tenant: e.tenant,
              category: e.category,
              month: e.month,
              from_position: e.fromPosition.toString(),
              to_position: e.toPosition.toString(),
              row_count: e.rowCount,
              sha256: e.sha256,
              object_key: e.objectKey,
            })),
          ),
        ],
      );
      return rows.map(toEntry);
    });
  }

  /** Every sealed file, optionally of one tenant, in position order. */
  async list(filter: { tenant?: string } = {}): Promise<ManifestEntry[]> {
    const { rows } = await this.pool.query<Row>(
      `select * from "${this.schema}".archive_segments where $1::text is null or tenant = $1
        order by from_position`,
      [filter.tenant ?? null],
    );
    return rows.map(toEntry);
  }
}
