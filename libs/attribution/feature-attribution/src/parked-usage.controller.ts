import { Controller, Get, Inject } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RegistryTables } from '@tally/attribution/data-access-registry';
import { ApiDoc, QueryText, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { ParkedUsagePage, parkedQuery } from './registry.schemas';
import { ATTRIBUTION_DB, REGISTRY_TABLES } from './tokens';

/** Usage that could not be attributed yet: kept in the ledger, listed here with the reason. */
@Controller('v1/parked-usage')
export class ParkedUsageController {
  constructor(
    private readonly tenancy: Tenancy,
    @Inject(ATTRIBUTION_DB) private readonly db: DataSource,
    @Inject(REGISTRY_TABLES) private readonly tables: RegistryTables,
  ) {}

  @ApiDoc({
    summary: 'Usage waiting for its subject to be attributed',
    query: parkedQuery,
    responses: { 200: { description: 'a page, oldest first', schema: ParkedUsagePage } },
  })
  @Get()
  @ReadsFrom('attribution_registry')
  async list(@QueryText('limit') limitText?: string, @QueryText('after') after?: string) {
    // The query's schema (parkedQuery) has checked both before this runs.
    const limit = limitText === undefined ? 100 : Number(limitText);
    const rows = await this.tables.listParked(this.db, this.tenancy.current, limit, after);
    const items = rows.map((u) => ({
      usageId: u.usageId,
      source: u.source,
      eventId: u.eventId,
      eventType: u.eventType,
      subject: u.subject,
      time: u.time,
      reason: u.attribution.status === 'parked' ? u.attribution.reason : null,
      recordedAt: u.recordedAt,
    }));
    return { items, next: items.length === limit ? items[items.length - 1].usageId : null };
  }
}
