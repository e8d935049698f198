import { DataSource, EntityManager } from 'typeorm';
import type { Meter } from '@tally/aggregation/domain';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface MeterRow extends Meter {
  createdAt: string;
  /** Set once deleted (until the slug is created again). */
  deletedAt?: string;
}

/** The meter catalogue and what no meter measures. */
export class MeterTables {
  /** The tables this class writes for its projection (a rebuild builds copies of them and swaps them in). */
  static readonly tables = ['meters'] as const;

  constructor(private readonly schema: string) {}

  async created(tx: Queryable, tenant: string, meter: Meter, createdAt: string, position: bigint): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".meters (tenant, slug, definition, created_at, deleted_at, last_position) values ($1, $2, $3, $4, null, $5)
       on conflict (tenant, slug) do update set definition = excluded.definition, created_at = excluded.created_at, deleted_at = null, last_position = excluded.last_position
       where meters.last_position < excluded.last_position`,
      [tenant, meter.slug, JSON.stringify(meter), createdAt, position.toString()],
    );
  }

  async deleted(tx: Queryable, tenant: string, slug: string, deletedAt: string, position: bigint): Promise<void> {
    await tx.query(
      `update "${this.schema}".meters set deleted_at = $3, last_position = $4 where tenant = $1 and slug = $2 and last_position < $4`,
      [tenant, slug, deletedAt, position.toString()],
    );
  }

  async active(tx: Queryable, tenant: string): Promise<MeterRow[]> {
    return this.list(tx, tenant, false);
  }

  /** The live meters by slug, and with `includeDeleted` the deleted ones whose slug was not used again. */
  async list(tx: Queryable, tenant: string, includeDeleted: boolean): Promise<MeterRow[]> {
    const rows: { definition: Meter; created_at: Date; deleted_at: Date | null }[] = await tx.query(
      `select definition, created_at, deleted_at from "${this.schema}".meters
        where tenant = $1 ${includeDeleted ? '' : 'and deleted_at is null'} order by slug`,
      [tenant],
    );
    return rows.map((r) => ({
      ...r.definition,
      createdAt: r.created_at.toISOString(),
      ...(r.deleted_at && { deletedAt: r.deleted_at.toISOString() }),
    }));
  }

  /** Event types in the ledger's usage that no live meter measures: kept, counted, listed — not lost. */
  async unmeteredEventTypes(
    tx: Queryable,
    tenant: string,
  ): Promise<{ eventType: string; events: string; firstTime: string; lastTime: string }[]> {
    const rows: { event_type: string; events: string; first_time: Date; last_time: Date }[] = await tx.query(
      `select f.event_type, count(*)::text as events, min(f.time) as first_time, max(f.time) as last_time
         from "${this.schema}".usage_facts f
        where f.tenant = $1 and not f.voided
          and not exists (select 1 from "${this.schema}".meters m where m.tenant = f.tenant and m.deleted_at is null and m.definition->>'eventType' = f.event_type)
        group by 1 order by 1`,
      [tenant],
    );
    return rows.map((r) => ({
      eventType: r.event_type,
      events: r.events,
      firstTime: r.first_time.toISOString(),
      lastTime: r.last_time.toISOString(),
    }));
  }
}
