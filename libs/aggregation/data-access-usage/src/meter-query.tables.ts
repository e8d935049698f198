import { DataSource, EntityManager } from 'typeorm';
import { Meter, MeterQuery, pathTextArray, StringFilter, valueExpressionOf } from '@tally/aggregation/domain';
import { decimalPattern, groupPathsOf, groupValuesSql } from './meter-hours.tables';
import { BucketTotal, BucketTotalAsk, bucketTotals } from './bucket-totals';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface MeterValue {
  value: string;
  windowStart: string;
  windowEnd: string;
  subject: string | null;
  groupBy: Record<string, string | null>;
  /** Values of the attribute groups asked for. */
  attributes?: Record<string, string | null>;
}

const aggregate = (meter: Meter, value: string): string => {
  switch (meter.aggregation) {
    case 'COUNT':
      return 'count(*)::numeric';
    case 'SUM':
      return `coalesce(sum(${value}), 0)`;
    case 'AVG':
      // Postgres' avg() keeps only ~16 significant digits for large quotients; divide at 40 decimal places
      // instead (the one rounding here: half away from zero at the 40th place), then drop trailing zeros.
      return `trim_scale(sum(${value})::numeric(1000, 40) / nullif(count(${value}), 0))`;
    case 'MIN':
      return `min(${value})`;
    case 'MAX':
      return `max(${value})`;
    case 'UNIQUE_COUNT':
      return `count(distinct f.data #>> $3::text[])::numeric`;
    case 'LATEST':
      return `(array_agg(${value} order by f.time desc, f.usage_id desc) filter (where ${value} is not null))[1]`;
    case 'TIME_WEIGHTED_SUM':
      throw new Error('a time-weighted meter is read by its levels (fromLevels), not by aggregating facts');
    default: {
      const _never: never = meter.aggregation;
      throw new Error('unknown aggregation');
    }
  }
};

/**
 * Meter values straight from the usage facts (current attribution, voids and amendments already
 * applied), windows cut in the query's time zone — days and months follow DST. Exact: numeric all along.
 */
export class MeterQueryTables {
  /** `buckets: false` forces reading facts (tests hold both paths to the same answers). */
  constructor(
    private readonly schema: string,
    private readonly options: {
      buckets?: boolean;
      /** Levels of time-weighted meters hold until now at most (tests set the clock). */
      clock?: () => Date;
      /** The schema of the migrations' SQL functions (meter_value, exact_div): the live one during a rebuild. */
      functions?: string;
    } = {},
  ) {}

  private get functionsSchema(): string {
    return this.options.functions ?? this.schema;
  }

  async query(tx: Queryable, tenant: string, meter: Meter, asked: MeterQuery): Promise<MeterValue[]> {
    // The meter's eventFrom holds for every reader (billing, budgets, account usage), not only the meter API.
    const q = meter.eventFrom && !asked.since ? { ...asked, since: new Date(meter.eventFrom) } : asked;
    if (meter.aggregation === 'TIME_WEIGHTED_SUM') return this.fromLevels(tx, tenant, meter, q);
    // The whole hours of the range from the buckets; its ends beside them (a part hour, the instant of an inclusive
    // `to`, as OpenMeter's routes ask, and their default `to`, now) from the facts.
    return this.options.buckets !== false && bucketableAround(meter, q)
      ? this.fromBuckets(tx, tenant, meter, q)
      : this.fromFacts(tx, tenant, meter, q);
  }

  /** Whether `query` answers this from the hourly buckets (the meter's eventFrom applied as `query` applies it). */
  answersFromBuckets(meter: Meter, asked: MeterQuery): boolean {
    const q = meter.eventFrom && !asked.since ? { ...asked, since: new Date(meter.eventFrom) } : asked;
    return meter.aggregation !== 'TIME_WEIGHTED_SUM' && this.options.buckets !== false && bucketable(meter, q);
  }

  /** Many window-less totals from the hourly buckets in one statement (each ask one `answersFromBuckets` allows). */
  totalsFromBuckets(tx: Queryable, tenant: string, asks: readonly BucketTotalAsk[]): Promise<BucketTotal[]> {
    return bucketTotals(tx, this.schema, tenant, asks);
  }

  /**
   * A fact's reading in SQL, by the meter contract's rule: the decimal text at the value path ($3), or the
   * derived value (meter_value, the SQL twin of the TypeScript evaluator); null when the fact has none.
   */
  private readingSql(meter: Meter, param: (value: unknown) => string, valuePath = '$3'): string {
    if (meter.valueExpression)
      return `"${this.functionsSchema}".meter_value(${param(JSON.stringify(valueExpressionOf(meter.valueExpression)))}::jsonb, f.data)`;
    return `case when (f.data #>> ${valuePath}::text[]) ~ ${decimalPattern} then (f.data #>> ${valuePath}::text[])::numeric end`;
  }

  /**
   * A time-weighted meter (docs/aggregation.md, "Gauge meters"): each subject's level holds from the report
   * that sets it until the subject's next report, the query's end, or now, whichever comes first; a window's
   * value is Σ level × the hours of it inside the window, carried into windows and periods without reports.
   * The level at the range's start is the subject's last report before it. Per report: the account, group
   * values and subject attributes of the report that set the level (a parked report ends the level before it
   * and counts for nobody). Σ level × seconds is exact; the one division (÷ 3600) rounds at 40 places only when
   * the hours do not end (20 minutes = 0.333… h). Twin: contracts/meters time-weighted.ts (reconciliation).
   */
  private async fromLevels(tx: Queryable, tenant: string, meter: Meter, q: MeterQuery): Promise<MeterValue[]> {
    let start = q.since && q.since > q.from ? q.since : q.from;
    const now = q.asOf ?? this.options.clock?.() ?? new Date();
    const end = q.to < now ? q.to : now;
    if (end <= start) return [];
    if (q.windowSize) {
      // Windows start no earlier than the first report: an OpenMeter query from the beginning of time cut in
      // minutes would otherwise generate decades of empty windows before joining them to nothing.
      const [first] = (await tx.query(
        `select min(time) as time from "${this.schema}".usage_facts where tenant = $1 and event_type = $2 and not voided`,
        [tenant, meter.eventType],
      )) as { time: Date | null }[];
      if (!first?.time || first.time >= end) return [];
      if (first.time > start) start = first.time;
    }
    const params: unknown[] = [
      tenant,
      meter.eventType,
      meter.valueProperty ? pathTextArray(meter.valueProperty) : [],
      start.toISOString(),
      end.toISOString(),
      q.windowTimeZone,
    ];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const reading = this.readingSql(meter, param);
    const groups = [
      ...q.groupBy.map((key) =>
        key === 'subject'
          ? { key, kind: 'subject', sql: 'l.subject' }
          : { key, kind: 'data', sql: `l.data #>> ${param(pathTextArray(meter.groupBy[key]))}::text[]` },
      ),
      ...(q.attributeGroups ?? []).map((key) => ({ key, kind: 'attribute', sql: `l.attributes ->> ${param(key)}` })),
    ];
    const filters = [
      q.accountId ? `l.account_id = ${param(q.accountId)}` : '',
      q.accountIds ? `l.account_id = any(${param(q.accountIds)}::text[])` : '',
      ...Object.entries(q.groupFilters ?? {}).map(([key, filter]) =>
        filterSql(filter, `(l.data #>> ${param(pathTextArray(meter.groupBy[key]))}::text[])`, param),
      ),
      q.subjects.length > 0 ? `l.subject = any(${param(q.subjects)}::text[])` : '',
      ...Object.entries(q.filterGroupBy).map(
        ([key, value]) => `(l.data #>> ${param(pathTextArray(meter.groupBy[key]))}::text[]) = ${param(value)}`,
      ),
      ...Object.entries(q.filterAttributes ?? {}).map(
        ([key, value]) => `(l.attributes ->> ${param(key)}) = ${param(value)}`,
      ),
    ].filter(Boolean);
    // Only subjects the asked accounts ever had reports from can hold one of their levels (index-friendly).
    const owners = q.accountId
      ? `and f.subject in (select subject from "${this.schema}".usage_facts where tenant = $1 and event_type = $2 and account_id = ${param(q.accountId)} and time < $5)`
      : '';
    const unit = q.windowSize?.toLowerCase();
    const windows = !unit
      ? `select $4::timestamptz as w_start, $5::timestamptz as w_end where $6::text is not null`
      : wallClockUnits.has(unit)
        ? `select w at time zone $6 as w_start, (w + interval '1 ${unit}') at time zone $6 as w_end
           from generate_series(date_trunc('${unit}', $4::timestamptz at time zone $6), $5::timestamptz at time zone $6 - interval '1 microsecond', interval '1 ${unit}') w`
        : `select w as w_start, w + interval '1 ${unit}' as w_end
           from generate_series(${windowOf(unit, '$4::timestamptz', '$6').start}, $5::timestamptz - interval '1 microsecond', interval '1 ${unit}') w`;
    const facts = `select f.usage_id, f.subject, f.account_id, f.time, f.data, f.attributes, ${reading} as level
                     from "${this.schema}".usage_facts f
                    where f.tenant = $1 and f.event_type = $2 and not f.voided and $3::text[] is not null ${owners}`;
    const rows: Record<string, unknown>[] = await tx.query(
      `with reports as (
         select * from (${facts} and f.time >= $4 and f.time < $5) inside where level is not null
         union all
         -- Each subject's level at the start: its newest report before it, found through the (subject, time) index
         -- — one short index walk per subject, not a reading of the type's whole history.
         select carried.* from (select distinct f.subject from "${this.schema}".usage_facts f
                                 where f.tenant = $1 and f.event_type = $2 and not f.voided and f.time < $4 ${owners}) s
         cross join lateral (select * from (${facts} and f.subject = s.subject and f.time < $4
                                              order by f.time desc, f.usage_id desc) before
                              where level is not null limit 1) carried),
       levels as (
         select r.*, greatest(r.time, $4::timestamptz) as l_from,
                coalesce(lead(r.time) over (partition by r.subject order by r.time, r.usage_id), $5::timestamptz) as l_to
           from reports r),
       windows as (${windows})
       select w.w_start as window_start, w.w_end as window_end,
              ${groups.map((g, i) => `${g.sql} as g${i}`).join(', ')}${groups.length > 0 ? ',' : ''}
              trim_scale("${this.functionsSchema}".exact_div(sum(l.level * extract(epoch from (least(l.l_to, w.w_end) - greatest(l.l_from, w.w_start)))), 3600))::text as value
         from levels l join windows w on l.l_from < w.w_end and l.l_to > w.w_start
        where l.account_id is not null and l.l_to > l.l_from ${filters.map((f) => `and ${f}`).join(' ')}
        group by ${['1', '2', ...groups.map((_, i) => String(i + 3))].join(', ')}
        order by 1 ${groups.map((_, i) => `, ${i + 3}`).join('')}`,
      params,
    );
    return rows.filter((r) => r.value !== null).map((r) => toValue(r, q, groups, unit));
  }

  /**
   * SUM, COUNT and AVG from the hourly buckets: ~720 rows per account-month instead of every event. Same
   * answers as the facts (the tests hold both paths to them); only for whole-hour ranges in zones whose
   * offset is a whole number of hours, and without per-subject grouping.
   */
  private async fromBuckets(tx: Queryable, tenant: string, meter: Meter, q: MeterQuery): Promise<MeterValue[]> {
    const params: unknown[] = [tenant, meter.slug, q.from.toISOString(), q.to.toISOString(), q.windowTimeZone];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const groups = [
      ...q.groupBy.map((key) => ({ key, kind: 'data', sql: `b.groups ->> ${param(key)}` })),
      ...(q.attributeGroups ?? []).map((key) => ({ key, kind: 'attribute', sql: `b.attributes ->> ${param(key)}` })),
    ];
    const filters = [
      q.since ? `b.hour >= ${param(q.since.toISOString())}` : '',
      q.accountId ? `b.account_id = ${param(q.accountId)}` : '',
      q.accountIds ? `b.account_id = any(${param(q.accountIds)}::text[])` : '',
      ...Object.entries(q.groupFilters ?? {}).map(([key, filter]) =>
        filterSql(filter, `(b.groups ->> ${param(key)})`, param),
      ),
      ...Object.entries(q.filterGroupBy).map(([key, value]) => `(b.groups ->> ${param(key)}) = ${param(value)}`),
      ...Object.entries(q.filterAttributes ?? {}).map(
        ([key, value]) => `(b.attributes ->> ${param(key)}) = ${param(value)}`,
      ),
    ].filter(Boolean);
    const value =
      meter.aggregation === 'COUNT'
        ? 'sum(b.events)'
        : meter.aggregation === 'SUM'
          ? 'coalesce(sum(b.total), 0)'
          : 'sum(b.total)::numeric(1000, 40) / nullif(sum(b.readings), 0)';
    const unit = q.windowSize?.toLowerCase();
    const window = windowOf(unit, 'b.hour', '$5');
    const rows: Record<string, unknown>[] = await tx.query(
      `select ${window.start} as window_start, ${window.end} as window_end,
              ${groups.map((g, i) => `${g.sql} as g${i}`).join(', ')}${groups.length > 0 ? ',' : ''} trim_scale(${value})::text as value
         from ${this.bucketSource(meter, q, param)} b
        where b.tenant = $1 and b.meter = $2 and b.hour >= $3 and b.hour ${q.toInclusive ? '<=' : '<'} $4 ${filters.map((f) => `and ${f}`).join(' ')}
        group by ${['1', '2', ...groups.map((_, i) => String(i + 3))].join(', ')}
        having sum(b.events) > 0
        order by 1 ${groups.map((_, i) => `, ${i + 3}`).join('')}`,
      params,
    );
    return rows.filter((r) => r.value !== null).map((r) => toValue(r, q, groups, unit));
  }

  /**
   * What fromBuckets reads: the meter's hourly buckets, or — when the range does not begin and end on whole hours
   * or its `to` is inclusive — the buckets of its whole hours and, beside them, the usage facts of its ends (before
   * the first whole hour; from the last one to `to`, inclusive or not) as buckets of one event each. Each such fact
   * is what the rollups make of it (meter-hours.tables deltaSql: the meter's group values from its data, its
   * attributes whole, its reading). The caller's range condition ($3, $4) then holds for both halves.
   */
  private bucketSource(meter: Meter, q: MeterQuery, param: (value: unknown) => string): string {
    const buckets = `"${this.schema}".meter_hours`;
    const hours = wholeHours(q);
    if (!q.toInclusive && hours.from.getTime() === q.from.getTime() && hours.to.getTime() === q.to.getTime())
      return buckets;
    const [first, last] = [param(hours.from.toISOString()), param(hours.to.toISOString())];
    const eventType = param(meter.eventType);
    const valuePath = param(meter.valueProperty ? pathTextArray(meter.valueProperty) : []);
    const reading = this.readingSql(meter, param, valuePath);
    const groupsSql = groupValuesSql(`${param(JSON.stringify(groupPathsOf(meter)))}::jsonb`);
    return `(select tenant, meter, account_id, hour, groups, attributes, events, readings, total
               from ${buckets}
              where tenant = $1 and meter = $2 and hour >= ${first} and hour < ${last}
             union all
             select f.tenant, $2, f.account_id, f.time, ${groupsSql}, f.attributes, 1, (r.value is not null)::int, coalesce(r.value, 0)
               from "${this.schema}".usage_facts f
              cross join lateral (select ${reading} as value) r
              where f.tenant = $1 and f.event_type = ${eventType} and not f.voided and f.account_id is not null
                and ((f.time >= $3 and f.time < ${first}) or (f.time >= ${last} and f.time ${q.toInclusive ? '<=' : '<'} $4)))`;
  }

  private async fromFacts(tx: Queryable, tenant: string, meter: Meter, q: MeterQuery): Promise<MeterValue[]> {
    const params: unknown[] = [
      tenant,
      meter.eventType,
      meter.valueProperty ? pathTextArray(meter.valueProperty) : [],
      q.from.toISOString(),
      q.to.toISOString(),
      q.windowTimeZone,
    ];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
    const groups = [
      ...q.groupBy.map((key) =>
        key === 'subject'
          ? { key, kind: 'subject', sql: 'f.subject' }
          : { key, kind: 'data', sql: `f.data #>> ${param(pathTextArray(meter.groupBy[key]))}::text[]` },
      ),
      ...(q.attributeGroups ?? []).map((key) => ({ key, kind: 'attribute', sql: `f.attributes ->> ${param(key)}` })),
    ];
    const filters = [
      q.since ? `f.time >= ${param(q.since.toISOString())}` : '',
      q.accountId ? `f.account_id = ${param(q.accountId)}` : '',
      q.accountIds ? `f.account_id = any(${param(q.accountIds)}::text[])` : '',
      ...Object.entries(q.groupFilters ?? {}).map(([key, filter]) =>
        filterSql(filter, `(f.data #>> ${param(pathTextArray(meter.groupBy[key]))}::text[])`, param),
      ),
      q.subjects.length > 0 ? `f.subject = any(${param(q.subjects)}::text[])` : '',
      ...Object.entries(q.filterGroupBy).map(
        ([key, value]) => `(f.data #>> ${param(pathTextArray(meter.groupBy[key]))}::text[]) = ${param(value)}`,
      ),
      ...Object.entries(q.filterAttributes ?? {}).map(
        ([key, value]) => `(f.attributes ->> ${param(key)}) = ${param(value)}`,
      ),
    ].filter(Boolean);
    const unit = q.windowSize?.toLowerCase();
    const window = windowOf(unit, 'f.time', '$6');
    // trim_scale: one canonical text per value (3, not 3.00), whatever the scale of the inputs.
    const rows: Record<string, unknown>[] = await tx.query(
      `select ${window.start} as window_start, ${window.end} as window_end,
              ${groups.map((g, i) => `${g.sql} as g${i}`).join(', ')}${groups.length > 0 ? ',' : ''} trim_scale(${aggregate(meter, this.readingSql(meter, param))})::text as value
         from "${this.schema}".usage_facts f
        where f.tenant = $1 and f.event_type = $2 and not f.voided and f.account_id is not null and $3::text[] is not null
          and f.time >= $4 and f.time ${q.toInclusive ? '<=' : '<'} $5 ${filters.map((f) => `and ${f}`).join(' ')}
        group by ${['1', '2', ...groups.map((_, i) => String(i + 3))].join(', ')}
        order by 1 ${groups.map((_, i) => `, ${i + 3}`).join('')}`,
      params,
    );
    return rows.filter((r) => r.value !== null).map((r) => toValue(r, q, groups, unit));
  }
}

/**
 * A FilterString as a SQL condition on `column` (a group-by value; null when the event has none, and null
 * meets no positive condition and every negative one). Values go as parameters; comparisons by code point.
 */
export const filterSql = (filter: StringFilter, column: string, param: (value: unknown) => string): string => {
  const conditions: string[] = [];
  const text = (value: string | undefined, sql: (p: string) => string) => {
    if (value !== undefined) conditions.push(sql(param(value)));
  };
  text(filter.$eq, (p) => `${column} = ${p}`);
  text(filter.$ne, (p) => `${column} is distinct from ${p}`);
  text(filter.$like, (p) => `${column} like ${p}`);
  text(filter.$nlike, (p) => `coalesce(${column} not like ${p}, true)`);
  text(filter.$ilike, (p) => `${column} ilike ${p}`);
  text(filter.$nilike, (p) => `coalesce(${column} not ilike ${p}, true)`);
  text(filter.$gt, (p) => `${column} > ${p} collate "C"`);
  text(filter.$gte, (p) => `${column} >= ${p} collate "C"`);
  text(filter.$lt, (p) => `${column} < ${p} collate "C"`);
  text(filter.$lte, (p) => `${column} <= ${p} collate "C"`);
  if (filter.$in) conditions.push(`${column} = any(${param(filter.$in)}::text[])`);
  if (filter.$nin) conditions.push(`coalesce(${column} <> all(${param(filter.$nin)}::text[]), true)`);
  if (filter.$and) conditions.push(`(${filter.$and.map((f) => filterSql(f, column, param)).join(' and ')})`);
  if (filter.$or) conditions.push(`(${filter.$or.map((f) => filterSql(f, column, param)).join(' or ')})`);
  return conditions.length > 0 ? `(${conditions.join(' and ')})` : 'true';
};

/** The most values a listing of subjects or group-by values answers (a listing, not an export). */
export const maxListedValues = 10_000;

/**
 * What a meter has seen in a range (both ends inclusive, as OpenMeter's listings read them): its subjects, or
 * the values of one of its group-by keys — over the usage it counts (attributed, not voided, of its event type,
 * from its eventFrom on), in order, at most maxListedValues.
 */
export class MeterValuesTables {
  constructor(private readonly schema: string) {}

  async subjects(tx: Queryable, tenant: string, meter: Meter, range: { from: Date; to: Date }): Promise<string[]> {
    return this.distinct(tx, tenant, meter, range, 'f.subject', []);
  }

  async groupByValues(
    tx: Queryable,
    tenant: string,
    meter: Meter,
    key: string,
    range: { from: Date; to: Date },
  ): Promise<string[]> {
    return this.distinct(tx, tenant, meter, range, 'f.data #>> $6::text[]', [pathTextArray(meter.groupBy[key])]);
  }

  private async distinct(
    tx: Queryable,
    tenant: string,
    meter: Meter,
    range: { from: Date; to: Date },
    column: string,
    extra: unknown[],
  ): Promise<string[]> {
    const since = meter.eventFrom && new Date(meter.eventFrom) > range.from ? new Date(meter.eventFrom) : range.from;
    const rows: { value: string }[] = await tx.query(
      `select distinct ${column} as value from "${this.schema}".usage_facts f
        where f.tenant = $1 and f.event_type = $2 and not f.voided and f.account_id is not null
          and f.time >= $3 and f.time <= $4 and ${column} is not null
        order by 1 limit $5`,
      [tenant, meter.eventType, since.toISOString(), range.to.toISOString(), maxListedValues, ...extra],
    );
    return rows.map((r) => r.value);
  }
}

const toValue = (
  r: Record<string, unknown>,
  q: MeterQuery,
  groups: { key: string; kind: string }[],
  unit: string | undefined,
): MeterValue => ({
  value: String(r.value),
  windowStart: unit ? (r.window_start as Date).toISOString() : q.from.toISOString(),
  windowEnd: unit ? (r.window_end as Date).toISOString() : q.to.toISOString(),
  subject: q.groupBy.includes('subject') ? (r[`g${q.groupBy.indexOf('subject')}`] as string) : null,
  groupBy: Object.fromEntries(
    groups.filter((g) => g.kind === 'data').map((g) => [g.key, (r[`g${groups.indexOf(g)}`] as string | null) ?? null]),
  ),
  ...(q.attributeGroups
    ? {
        attributes: Object.fromEntries(
          groups
            .filter((g) => g.kind === 'attribute')
            .map((g) => [g.key, (r[`g${groups.indexOf(g)}`] as string | null) ?? null]),
        ),
      }
    : {}),
});

const hourMs = 3_600_000;

/** Windows cut on the zone's wall clock: a local day across a DST change is 23 or 25 hours, a month starts at local midnight. */
const wallClockUnits = new Set(['day', 'month']);

/**
 * SQL for the window an instant lies in, as instants. Days and months: truncated on the wall clock and turned back
 * into instants. Hours and minutes: the instant less the local minutes (and seconds) past the hour — not truncated
 * on the wall clock, which repeats an hour when clocks go back (01:00–02:00 twice on 1 Nov 2026 in New York): two
 * hours would merge into one window and the hour before it would end an hour late. Half-hour zones keep their :30.
 */
const windowOf = (unit: string | undefined, instant: string, zone: string): { start: string; end: string } => {
  // No windows: the zone is still named, so that its parameter has a type (Postgres refuses an unused untyped one).
  if (!unit) return { start: `null::timestamp at time zone ${zone}`, end: `null::timestamp at time zone ${zone}` };
  const local = `date_trunc('${unit}', ${instant} at time zone ${zone})`;
  if (wallClockUnits.has(unit))
    return { start: `${local} at time zone ${zone}`, end: `(${local} + interval '1 ${unit}') at time zone ${zone}` };
  const start = `(${instant} - ((${instant} at time zone ${zone}) - ${local}))`;
  return { start, end: `(${start} + interval '1 ${unit}')` };
};

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Offset of a zone at an instant, in minutes (Intl's "GMT+10:30" → 630). One formatter per zone: building one costs ~70 µs. */
const offsetMinutes = (instant: Date, timeZone: string): number => {
  // UTC (every billable-usage query's zone) without Intl: formatToParts was 2.7 % of a batched billing run's CPU.
  if (timeZone === 'UTC') return 0;
  let format = offsetFormats.get(timeZone);
  if (!format)
    offsetFormats.set(timeZone, (format = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })));
  const name = format.formatToParts(instant).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name);
  return match ? (match[1] === '-' ? -1 : 1) * (Number(match[2]) * 60 + Number(match[3])) : 0;
};

/** The whole hours inside a range: its `from` rounded up to the hour, its `to` rounded down. */
const wholeHours = (q: MeterQuery): { from: Date; to: Date } => ({
  from: new Date(Math.ceil(q.from.getTime() / hourMs) * hourMs),
  to: new Date(Math.floor(q.to.getTime() / hourMs) * hourMs),
});

/**
 * Whether `query` reads the buckets: their whole hours answer exactly, the ends of the range (a part hour, the
 * instant of an inclusive `to`) coming from the facts.
 */
const bucketableAround = (meter: Meter, q: MeterQuery): boolean => {
  const hours = wholeHours(q);
  return hours.from < hours.to && bucketable(meter, { ...q, ...hours, toInclusive: false });
};

/**
 * Hourly buckets answer exactly when windows are made of whole UTC hours. An inclusive `to` (OpenMeter's
 * routes) also counts usage at the instant `to`, which lies in the bucket after the range: the many-totals
 * statement (`totalsFromBuckets`) takes only what this allows; `query` reads the ends of a range from the facts.
 */
const bucketable = (meter: Meter, q: MeterQuery): boolean =>
  ['SUM', 'COUNT', 'AVG'].includes(meter.aggregation) &&
  !q.toInclusive &&
  (!q.since || q.since.getTime() % hourMs === 0) &&
  !q.groupBy.includes('subject') &&
  q.subjects.length === 0 &&
  q.windowSize !== 'MINUTE' &&
  q.from.getTime() % hourMs === 0 &&
  q.to.getTime() % hourMs === 0 &&
  offsetMinutes(q.from, q.windowTimeZone) % 60 === 0 &&
  offsetMinutes(q.to, q.windowTimeZone) % 60 === 0;
