import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { beginningOfTime, MeterQueryDialect, parseMeterQuery } from '@tally/aggregation/domain';
import { parseRfc3339 } from '@tally/shared/util-core';
import { MeterQueryTables, MeterValuesTables } from '@tally/aggregation/data-access-usage';
import { badRequest, Clock, CLOCK, notFound, Tenancy } from '@tally/shared/feature-runtime';
import { MetersService } from './meters.service';
import { AGGREGATION_DB, METER_QUERY_TABLES, METER_VALUES_TABLES } from './tokens';

/** The most windows a time-weighted meter's query answers (a year of hours is 8,760). */
export const maxLevelWindows = 10_000;

/** The OpenMeter-compatible meter query, for HTTP (MetersController) and NATS (MeterQueryResponder) alike. */
@Injectable()
export class MeterQueryService {
  constructor(
    private readonly meters: MetersService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(METER_QUERY_TABLES) private readonly queries: MeterQueryTables,
    @Inject(METER_VALUES_TABLES) private readonly values: MeterValuesTables,
  ) {}

  /** OpenMeter's listMeterSubjects: the subjects of the meter's usage in [from, to] (from: the beginning of time). */
  async subjects(idOrSlug: string, params: Record<string, string | undefined>) {
    const meter = await this.found(idOrSlug);
    return this.values.subjects(this.db, this.tenancy.current, meter, this.range(params, beginningOfTime));
  }

  /** OpenMeter's listMeterGroupByValues: one group-by key's values in [from, to] (from: 24 hours before now). */
  async groupByValues(idOrSlug: string, key: string, params: Record<string, string | undefined>) {
    const meter = await this.found(idOrSlug);
    if (!Object.hasOwn(meter.groupBy, key))
      throw badRequest(`meter ${meter.slug} has no group-by key ${key}`, [
        { field: 'groupByKey', message: `one of: ${Object.keys(meter.groupBy).join(', ') || '(the meter has none)'}` },
      ]);
    const dayAgo = new Date(this.clock().getTime() - 86_400_000);
    return this.values.groupByValues(this.db, this.tenancy.current, meter, key, this.range(params, dayAgo));
  }

  private async found(idOrSlug: string) {
    const meter = await this.meters.find(idOrSlug);
    if (!meter) throw notFound(`no meter ${idOrSlug}`);
    return meter;
  }

  /** An inclusive range from `from` and `to` (RFC 3339; the route's schema has checked them). */
  private range(params: Record<string, string | undefined>, defaultFrom: Date) {
    const from = params.from === undefined ? defaultFrom : parseRfc3339(params.from);
    const to = params.to === undefined ? this.clock() : parseRfc3339(params.to);
    if (!from)
      throw badRequest('from must be an RFC 3339 timestamp with an offset', [
        { field: 'from', message: 'not an RFC 3339 timestamp' },
      ]);
    if (!to)
      throw badRequest('to must be an RFC 3339 timestamp with an offset', [
        { field: 'to', message: 'not an RFC 3339 timestamp' },
      ]);
    if (from > to) throw badRequest('to must not be before from', [{ field: 'to', message: 'before from' }]);
    return { from, to };
  }

  /**
   * The answer's body, and the keys it groups by (CSV's columns). Refusals are problems (404, 400). `openmeter`:
   * the meter by id or slug, the range as OpenMeter reads it, `from` and `windowSize` echoed only when asked.
   */
  async answer(
    idOrSlug: string,
    params: Record<string, string | string[] | undefined>,
    dialect: MeterQueryDialect = 'tally',
  ) {
    const meter = dialect === 'openmeter' ? await this.meters.find(idOrSlug) : await this.meters.meter(idOrSlug);
    if (!meter) throw notFound(`no meter ${idOrSlug}`);
    const parsed = parseMeterQuery(meter, params, this.clock(), dialect);
    if (!parsed.ok) throw badRequest('the meter query is invalid', parsed.errors);
    const { query } = parsed;
    // A time-weighted meter fills every window its levels cover, used or not: the windows are bounded.
    const unitMs = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000, MONTH: 28 * 86_400_000 };
    if (
      meter.aggregation === 'TIME_WEIGHTED_SUM' &&
      query.windowSize &&
      (query.to.getTime() - query.from.getTime()) / unitMs[query.windowSize] > maxLevelWindows
    )
      throw badRequest(`a time-weighted meter's query answers at most ${maxLevelWindows} windows`, [
        { field: 'windowSize', message: `more than ${maxLevelWindows} ${query.windowSize} windows from from to to` },
      ]);
    const data = await this.queries.query(this.db, this.tenancy.current, meter, query);
    const asked = (field: string) => params[field] !== undefined;
    return {
      body: {
        ...((dialect === 'tally' || asked('from')) && { from: query.from.toISOString() }),
        to: query.to.toISOString(),
        ...(dialect === 'tally'
          ? { windowSize: query.windowSize ?? null }
          : query.windowSize && { windowSize: query.windowSize }),
        windowTimeZone: query.windowTimeZone,
        data,
      },
      groupBy: query.groupBy,
    };
  }
}
