import { Controller, Get, Inject } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventStatusTables } from '@tally/ingestion/data-access-intake';
import { intakeRate } from '@tally/ingestion/domain';
import { ApiDoc, Clock, CLOCK, Tenancy } from '@tally/shared/feature-runtime';
import { IntakeRate } from './intake.schemas';
import { EVENT_STATUS_TABLES, INGESTION_DB } from './tokens';

/**
 * How fast the caller's tenant is sending: counted from the status table every ingestion process feeds (not a
 * counter of this process), so it is the same answer whichever process is asked, with several behind a balancer.
 */
@Controller('v1/admin/intake')
export class IntakeRateController {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(EVENT_STATUS_TABLES) private readonly tables: EventStatusTables,
  ) {}

  @ApiDoc({
    summary: 'Events accepted by intake in the last minute, 15 minutes and hour',
    description:
      'Each event counts once, when first accepted (a duplicate sent again does not count). Acceptances are ' +
      'recorded off the request path, within moments: the newest second may not be in yet.',
    responses: { 200: { description: 'counts and rates per window', schema: IntakeRate } },
  })
  @Get()
  async rate() {
    const at = this.clock();
    const { newest, ...counts } = await this.tables.acceptedSince(this.db, this.tenancy.current, at);
    return { ...intakeRate(counts), newestAcceptedAt: newest, at: at.toISOString() };
  }
}
