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
  /** The distinct event types in the file (null: sealed before types were recorded; read it to know). */
  eventTypes: readonly string[] | null;
  sealedAt: Date;
  /** When its rows were removed from the hot ledger (null: still there too). */
  prunedAt: Date | null;
}

/** The manifest in figures: the last sealed position, files and rows sealed, and of them pruned from the hot ledger. */
export interface ManifestSummary {
  sealedThrough: bigint;
  files: number;
  rows: number;
  prunedFiles: number;
  prunedRows: number;
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
  event_types: string[] | null;
  sealed_at: Date;
  pruned_at: Date | null;
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
  eventTypes: row.event_types,
  sealedAt: row.sealed_at,
  prunedAt: row.pruned_at,
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
  async record(
    after: bigint,
    entries: readonly Omit<ManifestEntry, 'sealedAt' | 'prunedAt'>[],
  ): Promise<ManifestEntry[]> {
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
           (tenant, category, month, from_position, to_position, row_count, sha256, object_key, event_types)
         select * from jsonb_to_recordset($1::jsonb) as x(tenant text, category text, month text,
           from_position bigint, to_position bigint, row_count bigint, sha256 text, object_key text, event_types text[])
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
              // text[] from JSON: a Postgres array literal, its elements quoted (types are plain names).
              event_types: e.eventTypes && `{${e.eventTypes.map((t) => JSON.stringify(t)).join(',')}}`,
            })),
          ),
        ],
      );
      return rows.map(toEntry);
    });
  }

  /** The files whose rows are sealed but still in the hot ledger, oldest first, sealed before `sealedBefore`. */
  async unpruned(options: {
    categories: readonly string[];
    sealedBefore: Date;
    limit: number;
  }): Promise<ManifestEntry[]> {
    const { rows } = await this.pool.query<Row>(
      `select * from "${this.schema}".archive_segments
        where pruned_at is null and category = any($1::text[]) and sealed_at < $2 order by from_position limit $3`,
      [options.categories, options.sealedBefore, options.limit],
    );
    return rows.map(toEntry);
  }

  /** Marks a file's rows pruned from the hot ledger, in the pruning transaction. */
  async markPruned(client: Pick<PoolClient, 'query'>, entry: ManifestEntry): Promise<void> {
    await client.query(
      `update "${this.schema}".archive_segments set pruned_at = now() where object_key = $1 and pruned_at is null`,
      [entry.objectKey],
    );
  }

  /** What the archive holds, in one aggregate over the manifest (the admin status route). */
  async summary(): Promise<ManifestSummary> {
    const { rows } = await this.pool.query<Record<keyof ManifestSummary, string>>(
      `select coalesce(max(to_position), 0)::text as "sealedThrough", count(*)::text as files,
              coalesce(sum(row_count), 0)::text as rows,
              count(*) filter (where pruned_at is not null)::text as "prunedFiles",
              coalesce(sum(row_count) filter (where pruned_at is not null), 0)::text as "prunedRows"
         from "${this.schema}".archive_segments`,
    );
    const [row] = rows;
    return {
      sealedThrough: BigInt(row.sealedThrough),
      files: Number(row.files),
      rows: Number(row.rows),
      prunedFiles: Number(row.prunedFiles),
      prunedRows: Number(row.prunedRows),
    };
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
