import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Meter, MeterQuery, periodAt, periodBounds } from '@tally/aggregation/domain';
import { MeterQueryTables, MeterTables, RollupTables } from '@tally/aggregation/data-access-usage';
import { ApiDoc, badRequest, CLOCK, Clock, notFound, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { AGGREGATION_DB, METER_QUERY_TABLES, METER_TABLES, ROLLUP_TABLES } from './tokens';
import { AccountUsage, accountIdParam, accountUsageQuery, AccountUsageWindowSize } from './usage.schemas';

/** What the breakdown splits by unless asked: the subject attributes Forge-style platforms bill by. */
const defaultBreakdown = ['app', 'environment'];

@Controller('v1/accounts')
export class AccountUsageController {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(ROLLUP_TABLES) private readonly rollups: RollupTables,
    @Inject(METER_TABLES) private readonly meters: MeterTables,
    @Inject(METER_QUERY_TABLES) private readonly queries: MeterQueryTables,
  ) {}

  /**
   * GET /v1/accounts/{id}/usage?period=YYYY-MM — every live meter's total for the account's billing
   * period (a month in the account's time zone from its billing anchor day — the period invoicing bills; default: the current one), broken down by
   * the subject attributes app and environment. Exact decimal strings.
   */
  @ApiDoc({
    summary: 'An account’s usage in a billing period, by meter and by any subject attributes',
    description:
      'Every live meter’s total for the period, and broken down by subject attributes (`breakdownBy=site,app`; app and ' +
      'environment by default) — Forge’s site breakdown. `filterAttribute[name]=value` keeps only the usage of subjects ' +
      'whose attribute has that value (several: all must hold); totals follow the filters. `windowSize=HOUR|DAY` adds ' +
      'each meter’s usage over time (`windows`), cut in the account’s time zone and split like the breakdown; ' +
      '`meters=a,b` answers only those meters.',
    params: accountIdParam,
    query: accountUsageQuery,
    responses: {
      200: { description: 'every live meter’s total, and by app and environment', schema: AccountUsage },
    },
  })
  @Get(':id/usage')
  @ReadsFrom('aggregation_usage_rollup')
  async usage(@Param('id') accountId: string, @Query() params: Record<string, string | undefined>) {
    const requested = params.period;
    // The query's schema has checked windowSize is HOUR or DAY.
    const windowSize = params.windowSize as AccountUsageWindowSize | undefined;
    // The query's schema has checked every name; only filterAttribute[name] keys remain besides these two.
    const breakdownBy = params.breakdownBy?.split(',') ?? defaultBreakdown;
    const filters = Object.fromEntries(
      Object.entries(params)
        .filter(([key, value]) => key.startsWith('filterAttribute[') && value !== undefined)
        .map(([key, value]) => [key.slice('filterAttribute['.length, -1), value as string]),
    );
    const tenant = this.tenancy.current;
    const account = await this.rollups.account(this.db, tenant, accountId);
    if (!account) throw notFound(`no account ${accountId} (accounts appear here moments after they are opened)`);
    // The query's schema (accountUsageQuery) has checked the period is YYYY-MM before this runs.
    const period = requested ?? periodAt(this.clock(), account.timezone, account.anchorDay);
    const { from, to } = periodBounds(period, account.timezone, account.anchorDay);
    const base = {
      from,
      to,
      windowTimeZone: account.timezone,
      accountId,
      subjects: [],
      groupBy: [],
      filterGroupBy: {},
      filterAttributes: filters,
    };
    const meters = await Promise.all(
      (await this.chosenMeters(tenant, params.meters)).map(async (meter) => {
        const [total] = await this.queries.query(this.db, tenant, meter, base);
        const breakdown = await this.queries.query(this.db, tenant, meter, {
          ...base,
          attributeGroups: breakdownBy,
        });
        return {
          slug: meter.slug,
          name: meter.name,
          aggregation: meter.aggregation,
          total: total?.value ?? null,
          breakdown: breakdown.map((b) => ({ ...b.attributes, value: b.value })),
          ...(windowSize
            ? { windows: await this.windows(tenant, meter, { ...base, windowSize, attributeGroups: breakdownBy }) }
            : {}),
        };
      }),
    );
    return {
      accountId,
      period,
      timezone: account.timezone,
      billingAnchorDay: account.anchorDay,
      ...(windowSize ? { windowSize } : {}),
      from: from.toISOString(),
      to: to.toISOString(),
      meters,
      breakdownBy,
      filters,
    };
  }

  /** The tenant's live meters, or those named (`meters=a,b`): a slug that names none is refused, by name. */
  private async chosenMeters(tenant: string, named: string | undefined): Promise<Meter[]> {
    const live = await this.meters.active(this.db, tenant);
    if (named === undefined) return live;
    const slugs = named.split(',');
    const unknown = slugs.filter((slug) => !live.some((m) => m.slug === slug));
    if (unknown.length > 0)
      throw badRequest(
        `no live meter ${unknown.join(', ')}`,
        unknown.map((slug) => ({ field: 'meters', message: `${slug} is not a live meter of this tenant` })),
      );
    return live.filter((m) => slugs.includes(m.slug));
  }

  /**
   * The period cut into the windows of the account's zone (MeterQueryTables cuts them: DST days are 23 or 25
   * hours), one row per window and breakdown combination with usage, in time order. A gauge's level carries
   * through windows without reports, so a zero there is "no usage" and left out like an empty window.
   */
  private async windows(tenant: string, meter: Meter, query: MeterQuery) {
    const rows = await this.queries.query(this.db, tenant, meter, query);
    return rows
      .filter((w) => meter.aggregation !== 'TIME_WEIGHTED_SUM' || !isZero(w.value))
      .sort((a, b) => a.windowStart.localeCompare(b.windowStart))
      .map((w) => ({ windowStart: w.windowStart, windowEnd: w.windowEnd, ...w.attributes, value: w.value }));
  }
}

const isZero = (decimal: string): boolean => /^-?0*\.?0*$/.test(decimal);
