import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { parseMeterQuery } from '@tally/aggregation/domain';
import { MeterQueryTables } from '@tally/aggregation/data-access-usage';
import { badRequest, Clock, CLOCK, notFound, Tenancy } from '@tally/shared/feature-runtime';
import { MetersService } from './meters.service';
import { AGGREGATION_DB, METER_QUERY_TABLES } from './tokens';

/** The OpenMeter-compatible meter query, for HTTP (MetersController) and NATS (MeterQueryResponder) alike. */
@Injectable()
export class MeterQueryService {
  constructor(
    private readonly meters: MetersService,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(METER_QUERY_TABLES) private readonly queries: MeterQueryTables,
  ) {}

  /** The answer's body, and the keys it groups by (CSV's columns). Refusals are problems (404, 400). */
  async answer(slug: string, params: Record<string, string | string[] | undefined>) {
    const meter = await this.meters.meter(slug);
    if (!meter) throw notFound(`no meter ${slug}`);
    const parsed = parseMeterQuery(meter, params, this.clock());
    if (!parsed.ok) throw badRequest('the meter query is invalid', parsed.errors);
    const data = await this.queries.query(this.db, this.tenancy.current, meter, parsed.query);
    return {
      body: {
        from: parsed.query.from.toISOString(),
        to: parsed.query.to.toISOString(),
        windowSize: parsed.query.windowSize ?? null,
        windowTimeZone: parsed.query.windowTimeZone,
        data,
      },
      groupBy: parsed.query.groupBy,
    };
  }
}
