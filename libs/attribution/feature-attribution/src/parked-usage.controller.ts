import { Controller, Get, Inject } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RegistryTables } from '@tally/attribution/data-access-registry';
import { ApiDoc, badRequest, QueryText, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { isUuid } from '@tally/shared/util-core';
import { ATTRIBUTION_DB, REGISTRY_TABLES } from './tokens';

/** Usage that could not be attributed yet: kept in the ledger, listed here with the reason. */
@Controller('v1/parked-usage')
export class ParkedUsageController {
  constructor(
    private readonly tenancy: Tenancy,
    @Inject(ATTRIBUTION_DB) private readonly db: DataSource,
    @Inject(REGISTRY_TABLES) private readonly tables: RegistryTables,
  ) {}

  @ApiDoc({ summary: 'Usage waiting for its subject to be attributed' })
  @Get()
  @ReadsFrom('attribution_registry')
  async list(@QueryText('limit') limitText?: string, @QueryText('after') after?: string) {
    const limit = limitText === undefined ? 100 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1_000)
      throw badRequest('limit must be a whole number from 1 to 1000', [{ field: 'limit', message: 'out of range' }]);
    if (after !== undefined && !isUuid(after))
      throw badRequest('after must be a usageId from a previous page', [{ field: 'after', message: 'not a usage id' }]);
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
