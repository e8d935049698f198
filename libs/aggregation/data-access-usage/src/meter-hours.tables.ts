import { DataSource, EntityManager } from 'typeorm';
import {
  decimalTextSqlPattern,
  isDecimalText,
  Meter,
  pathTextArray,
  readMeter,
  readPath,
  segmentsOf,
  valueExpressionOf,
} from '@tally/aggregation/domain';
import { returnedRows } from '@tally/shared/data-access-postgres';
import { ExactDecimal } from '@tally/shared/util-core';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

/** isDecimalText as a Postgres regular expression: the SQL readings follow the same rule. */
export const decimalPattern = decimalTextSqlPattern;

/** A meter's group-by keys with their paths as text arrays: what rollup_meters.group_paths holds. */
export const groupPathsOf = (meter: Meter): Record<string, string[]> =>
  Object.fromEntries(Object.entries(meter.groupBy).map(([key, path]) => [key, pathTextArray(path)]));

/**
 * A fact `f`'s group values as a bucket holds them (`paths`: SQL for a group_paths object): each key's text at
 * its path; '{}' for a meter without group-by keys. The rollups and the meter query's facts of a range's ends
 * both cut buckets with it.
 */
export const groupValuesSql = (paths: string): string =>
  `case when ${paths} = '{}'::jsonb then '{}'::jsonb
        else (select jsonb_object_agg(g.key, f.data #>> array(select jsonb_array_elements_text(g.value))) from jsonb_each(${paths}) g) end`;

/**
 * A fact's numeric reading for a bucket: the meter contract's rule (readMeter: a property's decimal text, or a
 * derived value), none for COUNT. UNIQUE_COUNT, MIN, MAX, LATEST and TIME_WEIGHTED_SUM keep no buckets, so
 * only SUM and AVG readings matter here.
 */
const readingOf = (meter: Meter, data: Record<string, unknown>): ExactDecimal | undefined => {
  if (meter.aggregation === 'COUNT') return undefined;
  if (!meter.valueExpression) {
    const raw = meter.valueProperty ? readPath(data, segmentsOf(meter.valueProperty)) : undefined;
    return (typeof raw === 'string' || typeof raw === 'number') && isDecimalText(String(raw))
      ? new ExactDecimal(String(raw))
      : undefined;
  }
  const reading = readMeter({ ...meter, groupBy: {} }, data);
  return reading.ok ? new ExactDecimal(reading.value) : undefined;
};

/** What countNew needs of a new fact. */
export interface BucketFact {
  usageId: string;
  tenant: string;
  accountId: string | null;
  eventType: string;
  time: string;
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

/**
 * Maintains meter_hours. Every change is a signed delta of the facts it concerns, computed from the facts
 * as they are at that moment: +1 for facts that start counting, −1 before a fact changes or stops
 * counting, +1 after. The projection calls it only for changes that apply (fresh facts, position-guarded
 * changes), so a batch applied twice changes nothing.
 */
export class MeterHourTables {
  /** The tables this class writes for its projection (a rebuild builds copies of them and swaps them in). */
  static readonly tables = ['meter_hours', 'rollup_meters'] as const;

  /**
   * `functions`: the schema holding the migrations' SQL functions (meter_value) — the live schema, also while
   * a rebuild writes copies of the tables into another one.
   */
  constructor(
    private readonly schema: string,
    private readonly functions: string = schema,
  ) {}

  private deltaSql(where: string, sign: 1 | -1): string {
    const s = this.schema;
    // Each fact's reading is read once (lateral), its group values only for meters that group.
    return `insert into "${s}".meter_hours (tenant, meter, account_id, hour, groups, attributes, events, readings, total)
      select f.tenant, m.slug, f.account_id, date_trunc('hour', f.time, 'UTC'),
             ${groupValuesSql('m.group_paths')},
             f.attributes, ${sign} * count(*), ${sign} * count(r.value), ${sign} * coalesce(sum(r.value), 0)
        from "${s}".usage_facts f
        join "${s}".rollup_meters m on m.tenant = f.tenant and m.event_type = f.event_type and m.live
        cross join lateral (select f.data #>> m.value_path as raw) x
        cross join lateral (select case when m.value_expression is not null then "${this.functions}".meter_value(m.value_expression, f.data)
                                        when cardinality(m.value_path) > 0 and x.raw ~ ${decimalPattern} then x.raw::numeric end as value) r
       where not f.voided and f.account_id is not null and ${where}
       group by 1, 2, 3, 4, 5, 6
      on conflict (tenant, meter, account_id, hour, groups, attributes) do update set
        events = meter_hours.events + excluded.events, readings = meter_hours.readings + excluded.readings, total = meter_hours.total + excluded.total`;
  }

  /**
   * New facts, counted in the projection from the data it already holds: the same reading rule as the SQL
   * delta (decimal text at the value path, else no reading; COUNT meters read nothing), summed exactly per
   * bucket and upserted as one JSON document. Facts whose group value is a JSON object or array (whose
   * text form only Postgres knows) go through the SQL delta instead.
   */
  async countNew(tx: Queryable, facts: readonly BucketFact[]): Promise<void> {
    const counted = facts.filter((f) => f.accountId !== null);
    if (counted.length === 0) return;
    const rows: { tenant: string; slug: string; event_type: string; definition: Meter | null }[] = await tx.query(
      `select tenant, slug, event_type, definition from "${this.schema}".rollup_meters where live and tenant = any($1::text[]) and event_type = any($2::text[])`,
      [[...new Set(counted.map((f) => f.tenant))], [...new Set(counted.map((f) => f.eventType))]],
    );
    // A meter kept from before definitions were stored: count these facts the SQL way.
    if (rows.some((r) => r.definition === null))
      return this.count(
        tx,
        counted.map((f) => f.usageId),
        1,
      );
    const meters = rows;
    if (meters.length === 0) return;
    const buckets = new Map<
      string,
      {
        tenant: string;
        meter: string;
        account_id: string;
        hour: string;
        groups: Record<string, string | null>;
        attributes: Record<string, string>;
        events: number;
        readings: number;
        total: ExactDecimal;
      }
    >();
    const viaSql: string[] = [];
    for (const fact of counted) {
      for (const m of meters) {
        if (m.tenant !== fact.tenant || m.event_type !== fact.eventType) continue;
        const meter = m.definition as Meter;
        const groups: Record<string, string | null> = {};
        let opaque = false;
        for (const [key, path] of Object.entries(meter.groupBy)) {
          const value = readPath(fact.data, segmentsOf(path));
          if (typeof value === 'object' && value !== null) opaque = true;
          groups[key] = value === undefined || value === null ? null : String(value);
        }
        if (opaque) {
          viaSql.push(fact.usageId);
          continue;
        }
        const reading = readingOf(meter, fact.data);
        const hour = new Date(Math.floor(Date.parse(fact.time) / 3_600_000) * 3_600_000).toISOString();
        const key = JSON.stringify([
          fact.tenant,
          meter.slug,
          fact.accountId,
          hour,
          Object.entries(groups),
          Object.entries(fact.attributes).sort(),
        ]);
        const bucket = buckets.get(key) ?? {
          tenant: fact.tenant,
          meter: meter.slug,
          account_id: fact.accountId as string,
          hour,
          groups,
          attributes: fact.attributes,
          events: 0,
          readings: 0,
          total: new ExactDecimal(0),
        };
        bucket.events += 1;
        if (reading) {
          bucket.readings += 1;
          bucket.total = bucket.total.plus(reading);
        }
        buckets.set(key, bucket);
      }
    }
    if (buckets.size > 0) {
      await tx.query(
        `insert into "${this.schema}".meter_hours (tenant, meter, account_id, hour, groups, attributes, events, readings, total)
         select tenant, meter, account_id, hour, groups, attributes, events, readings, total
           from jsonb_to_recordset($1::jsonb) as x(tenant text, meter text, account_id text, hour timestamptz, groups jsonb, attributes jsonb, events bigint, readings bigint, total numeric)
         on conflict (tenant, meter, account_id, hour, groups, attributes) do update set
           events = meter_hours.events + excluded.events, readings = meter_hours.readings + excluded.readings, total = meter_hours.total + excluded.total`,
        [JSON.stringify([...buckets.values()].map((b) => ({ ...b, total: b.total.toFixed() })))],
      );
    }
    await this.count(tx, [...new Set(viaSql)], 1);
  }

  async count(tx: Queryable, usageIds: readonly string[], sign: 1 | -1): Promise<void> {
    if (usageIds.length > 0) await tx.query(this.deltaSql('f.usage_id = any($1::uuid[])', sign), [usageIds]);
  }

  /** A meter starts: its buckets are computed from all history at once (its back-fill). */
  /**
   * A meter updated: new group-by keys cut its buckets again from the facts (as at creation); a new name,
   * description or metadata changes no bucket, so only the definition is kept.
   */
  async meterUpdated(tx: Queryable, tenant: string, meter: Meter, position: bigint): Promise<void> {
    const groupPaths = groupPathsOf(meter);
    const same = returnedRows(
      await tx.query(
        `update "${this.schema}".rollup_meters set definition = $3, last_position = $4
          where tenant = $1 and slug = $2 and group_paths = $5::jsonb and last_position < $4 returning slug`,
        [tenant, meter.slug, JSON.stringify(meter), position.toString(), JSON.stringify(groupPaths)],
      ),
    );
    if (same.length === 0) await this.meterCreated(tx, tenant, meter, position);
  }

  async meterCreated(tx: Queryable, tenant: string, meter: Meter, position: bigint): Promise<void> {
    const s = this.schema;
    const groupPaths = groupPathsOf(meter);
    const changed: unknown[] = await tx.query(
      `insert into "${s}".rollup_meters (tenant, slug, event_type, value_path, group_paths, live, last_position, definition, value_expression) values ($1, $2, $3, $4, $5, true, $6, $7, $8)
       on conflict (tenant, slug) do update set event_type = excluded.event_type, value_path = excluded.value_path, group_paths = excluded.group_paths,
         live = true, last_position = excluded.last_position, definition = excluded.definition, value_expression = excluded.value_expression
       where rollup_meters.last_position < excluded.last_position
       returning slug`,
      [
        tenant,
        meter.slug,
        meter.eventType,
        meter.aggregation === 'COUNT' ? [] : pathTextArray(meter.valueProperty),
        JSON.stringify(groupPaths),
        position.toString(),
        JSON.stringify(meter),
        meter.aggregation !== 'COUNT' && meter.valueExpression
          ? JSON.stringify(valueExpressionOf(meter.valueExpression))
          : null,
      ],
    );
    if (changed.length === 0) return;
    await tx.query(`delete from "${s}".meter_hours where tenant = $1 and meter = $2`, [tenant, meter.slug]);
    await tx.query(this.deltaSql('f.tenant = $1 and m.slug = $2', 1), [tenant, meter.slug]);
  }

  async meterDeleted(tx: Queryable, tenant: string, slug: string, position: bigint): Promise<void> {
    const s = this.schema;
    const changed = returnedRows(
      await tx.query(
        `update "${s}".rollup_meters set live = false, last_position = $3 where tenant = $1 and slug = $2 and last_position < $3 returning slug`,
        [tenant, slug, position.toString()],
      ),
    );
    if (changed.length > 0)
      await tx.query(`delete from "${s}".meter_hours where tenant = $1 and meter = $2`, [tenant, slug]);
  }
}
