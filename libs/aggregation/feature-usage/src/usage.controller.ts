import { Controller, Get, Inject, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { parseUsageQuery } from '@tally/aggregation/domain';
import { RollupTables } from '@tally/aggregation/data-access-usage';
import { ApiDoc, badRequest, CLOCK, Clock, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { AGGREGATION_DB, ROLLUP_TABLES } from './tokens';
import { UsageWindows, usageQuery } from './usage.schemas';

@Controller('v1/usage')
export class UsageController {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(ROLLUP_TABLES) private readonly tables: RollupTables,
  ) {}

  /** GET /v1/usage?accountId=…&from=…&to=…&windowSize=MINUTE|HOUR|DAY&type=… — event counts per window. */
  @ApiDoc({
    summary: 'Event counts of an account, by window',
    query: usageQuery,
    responses: { 200: { description: 'the windows with events, per event type', schema: UsageWindows } },
  })
  @Get()
  @ReadsFrom('aggregation_usage_rollup')
  async usage(@Query() params: Record<string, unknown>) {
    const parsed = parseUsageQuery(params, this.clock());
    if (!parsed.ok) throw badRequest('the usage query is invalid', parsed.errors);
    const { query } = parsed;
    const windows = await this.tables.usage(this.db, this.tenancy.current, query);
    const total = windows.reduce((sum, w) => sum + BigInt(w.events), 0n);
    return {
      accountId: query.accountId,
      from: query.from.toISOString(),
      to: query.to.toISOString(),
      windowSize: query.windowSize,
      totalEvents: total.toString(),
      data: windows,
    };
  }
}
