import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { periodAt, periodBounds } from '@tally/aggregation/domain';
import { MeterQueryTables, MeterTables, RollupTables } from '@tally/aggregation/data-access-usage';
import { ApiDoc, CLOCK, Clock, notFound, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { AGGREGATION_DB, METER_QUERY_TABLES, METER_TABLES, ROLLUP_TABLES } from './tokens';
import { AccountUsage, accountIdParam, accountUsageQuery } from './usage.schemas';

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
      'whose attribute has that value (several: all must hold); totals follow the filters.',
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
      (await this.meters.active(this.db, tenant)).map(async (meter) => {
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
        };
      }),
    );
    return {
      accountId,
      period,
      timezone: account.timezone,
      billingAnchorDay: account.anchorDay,
      from: from.toISOString(),
      to: to.toISOString(),
      meters,
      breakdownBy,
      filters,
    };
  }
}
