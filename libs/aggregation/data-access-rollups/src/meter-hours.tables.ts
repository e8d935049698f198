import { DataSource, EntityManager } from 'typeorm';
import { Meter, parseJsonPath } from '@tally/aggregation/domain';
import { returnedRows } from '@tally/shared/data-access-postgres';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

/** Decimal text, as intake keeps numbers; anything else is not a reading (never 0). */
export const decimalPattern = `'^[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?$'`;

const pathArray = (jsonPath: string | null): string[] => {
  if (!jsonPath) return [];
  const parsed = parseJsonPath(jsonPath);
  if (!parsed.ok) throw new Error(`invalid JSONPath in a meter: ${jsonPath}`);
  return parsed.segments.map(String);
};

/**
 * Maintains meter_hours. Every change is a signed delta of the facts it concerns, computed from the facts
 * as they are at that moment: +1 for facts that start counting, −1 before a fact changes or stops
 * counting, +1 after. The projection calls it only for changes that apply (fresh facts, position-guarded
 * changes), so a batch applied twice changes nothing.
 */
export class MeterHourTables {
  constructor(private readonly schema: string) {}

  private deltaSql(where: string, sign: 1 | -1): string {
    const s = this.schema;
    // Each fact's reading is read once (lateral), its group values only for meters that group.
    return `insert into "${s}".meter_hours (tenant, meter, account_id, hour, groups, attributes, events, readings, total)
      select f.tenant, m.slug, f.account_id, date_trunc('hour', f.time, 'UTC'),
             case when m.group_paths = '{}'::jsonb then '{}'::jsonb
                  else (select jsonb_object_agg(g.key, f.data #>> array(select jsonb_array_elements_text(g.value))) from jsonb_each(m.group_paths) g) end,
             f.attributes, ${sign} * count(*), ${sign} * count(r.value), ${sign} * coalesce(sum(r.value), 0)
        from "${s}".usage_facts f
        join "${s}".rollup_meters m on m.tenant = f.tenant and m.event_type = f.event_type and m.live
        cross join lateral (select f.data #>> m.value_path as raw) x
        cross join lateral (select case when cardinality(m.value_path) > 0 and x.raw ~ ${decimalPattern} then x.raw::numeric end as value) r
       where not f.voided and f.account_id is not null and ${where}
       group by 1, 2, 3, 4, 5, 6
      on conflict (tenant, meter, account_id, hour, groups, attributes) do update set
        events = meter_hours.events + excluded.events, readings = meter_hours.readings + excluded.readings, total = meter_hours.total + excluded.total`;
  }

  async count(tx: Queryable, usageIds: readonly string[], sign: 1 | -1): Promise<void> {
    if (usageIds.length > 0) await tx.query(this.deltaSql('f.usage_id = any($1::uuid[])', sign), [usageIds]);
  }

  /** A meter starts: its buckets are computed from all history at once (its back-fill). */
  async meterCreated(tx: Queryable, tenant: string, meter: Meter, position: bigint): Promise<void> {
    const s = this.schema;
    const groupPaths = Object.fromEntries(Object.entries(meter.groupBy).map(([key, path]) => [key, pathArray(path)]));
    const changed: unknown[] = await tx.query(
      `insert into "${s}".rollup_meters (tenant, slug, event_type, value_path, group_paths, live, last_position) values ($1, $2, $3, $4, $5, true, $6)
       on conflict (tenant, slug) do update set event_type = excluded.event_type, value_path = excluded.value_path, group_paths = excluded.group_paths,
         live = true, last_position = excluded.last_position
       where rollup_meters.last_position < excluded.last_position
       returning slug`,
      [tenant, meter.slug, meter.eventType, meter.aggregation === 'COUNT' ? [] : pathArray(meter.valueProperty), JSON.stringify(groupPaths), position.toString()],
    );
    if (changed.length === 0) return;
    await tx.query(`delete from "${s}".meter_hours where tenant = $1 and meter = $2`, [tenant, meter.slug]);
    await tx.query(this.deltaSql('f.tenant = $1 and m.slug = $2', 1), [tenant, meter.slug]);
  }

  async meterDeleted(tx: Queryable, tenant: string, slug: string, position: bigint): Promise<void> {
    const s = this.schema;
    const changed = returnedRows(
      await tx.query(`update "${s}".rollup_meters set live = false, last_position = $3 where tenant = $1 and slug = $2 and last_position < $3 returning slug`, [
        tenant,
        slug,
        position.toString(),
      ]),
    );
    if (changed.length > 0) await tx.query(`delete from "${s}".meter_hours where tenant = $1 and meter = $2`, [tenant, slug]);
  }

  async reset(tx: Queryable): Promise<void> {
    await tx.query(`truncate "${this.schema}".meter_hours, "${this.schema}".rollup_meters`);
  }
}
