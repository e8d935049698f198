import { Controller, Get, Inject, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventStatusTables } from '@tally/ingestion/data-access-intake';
import { eventStatus, sourceAllowed } from '@tally/ingestion/domain';
import { usageLedgerId } from '@tally/contracts/usage';
import { ApiDoc, forbidden, notFound, QueryText, ReadsFrom } from '@tally/shared/feature-runtime';
import { EventStatus, eventStatusQuery } from './intake.schemas';
import { ProducerRequest, ProducerRoute } from './producer.guard';
import { EVENT_STATUS_TABLES, INGESTION_DB } from './tokens';

@Controller('v1/events/status')
export class EventStatusController {
  constructor(
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(EVENT_STATUS_TABLES) private readonly tables: EventStatusTables,
  ) {}

  /**
   * GET /v1/events/status?source=…&id=… — accepted → recorded → attributed / parked / voided, or
   * rejected with its reasons, with when each happened. A producer key sees its own tenant's events, of the
   * sources it may send (403 for any other source, whether or not such an event exists).
   */
  @ApiDoc({
    summary: 'What became of events sent (accepted, recorded, parked, rejected)',
    query: eventStatusQuery,
    responses: { 200: { description: 'the furthest step and when each happened', schema: EventStatus } },
  })
  @Get()
  @ReadsFrom('ingestion_event_status')
  @ProducerRoute({ admin: true })
  async status(@QueryText('source') source: string, @QueryText('id') id: string, @Req() request: ProducerRequest) {
    // The query's schema (eventStatusQuery) has checked that both are given, not empty, before this runs.
    if (!sourceAllowed(request.producer.allowedSources, source))
      throw forbidden(`this API key may not read events of source ${source}`, [
        { field: 'source', message: 'not among the sources this key may use' },
      ]);
    const row = await this.tables.byUsageId(this.db, usageLedgerId(request.producer.tenant, source, id));
    const status = row && eventStatus(row);
    if (!row || !status)
      throw notFound(
        `no event with source ${source} and id ${id} is known (an accepted event appears here within seconds)`,
      );
    return {
      source,
      id,
      status,
      accountId: row.accountId,
      rejection: status === 'rejected' ? row.rejection : null,
      parkedReason: row.parkedReason,
      voidReason: row.voidReason,
      amendReason: row.amendReason,
      timestamps: {
        acceptedAt: row.acceptedAt,
        rejectedAt: row.rejectedAt,
        recordedAt: row.recordedAt,
        parkedAt: row.parkedAt,
        attributedAt: row.attributedAt,
        voidedAt: row.voidedAt,
        amendedAt: row.amendedAt,
      },
    };
  }
}
