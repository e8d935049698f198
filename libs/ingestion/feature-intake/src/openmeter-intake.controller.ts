import { Body, Controller, Get, Headers, HttpCode, Inject, Post, Query, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventStatusTables, ListedEvent } from '@tally/ingestion/data-access-intake';
import { ApiDoc, badRequest, Clock, CLOCK, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { parseRfc3339 } from '@tally/shared/util-core';
import { batchOf } from './batch';
import { IntakeService } from './intake.service';
import { IngestedEvents, listEventsQuery, OpenMeterIntakeBody } from './intake.schemas';
import { EVENT_STATUS_TABLES, INGESTION_DB } from './tokens';
import { ProducerRequest, ProducerRoute } from './producer.guard';

/**
 * OpenMeter-compatible intake, as OpenMeter's v1 API: `POST /api/v1/events` with
 * application/cloudevents+json (one event), application/cloudevents-batch+json (an array) or
 * application/json (either). 204 when every event is stored (duplicates included, silently);
 * 400 problem+json naming each invalid event (index) and field, and then nothing is stored.
 */
@Controller('api/v1/events')
export class OpenMeterIntakeController {
  constructor(
    private readonly intake: IntakeService,
    private readonly tenancy: Tenancy,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(EVENT_STATUS_TABLES) private readonly tables: EventStatusTables,
  ) {}

  /**
   * OpenMeter's listEvents: the tenant's accepted events, newest first by event time, with what became of them
   * — `validationError` says why one does not count (its subject has no account at its time, or it was voided).
   */
  @ApiDoc({
    summary: 'List ingested events, the OpenMeter way',
    description:
      'Accepted events with their content (numbers in `data` as the decimal text Tally keeps), newest first; ' +
      '`from`/`to` on the event time (by default the last 72 hours), `ingestedAtFrom`/`ingestedAtTo` on the ' +
      'acceptance, `id`/`subject` in part, `customerId` as accounts. Events refused at intake are not listed ' +
      '(they were answered with their errors).',
    query: listEventsQuery,
    responses: { 200: { description: 'the events, newest first', schema: IngestedEvents } },
  })
  @Get()
  @ReadsFrom('ingestion_event_status')
  async list(@Query() params: Record<string, string | string[] | undefined>) {
    // The query's schema (listEventsQuery) has checked each parameter's form before this runs.
    const instant = (name: string) => {
      const text = params[name];
      return typeof text === 'string' ? parseRfc3339(text) : undefined;
    };
    const to = instant('to') ?? this.clock();
    const from = instant('from') ?? new Date(to.getTime() - 72 * 3_600_000);
    if (from > to) throw badRequest('to must not be before from', [{ field: 'to', message: 'before from' }]);
    const customers = params.customerId === undefined ? undefined : [params.customerId].flat();
    const events = await this.tables.list(this.db, this.tenancy.current, {
      from,
      to,
      limit: Number(params.limit ?? 100),
      id: typeof params.id === 'string' ? params.id : undefined,
      subject: typeof params.subject === 'string' ? params.subject : undefined,
      ingestedAtFrom: instant('ingestedAtFrom'),
      ingestedAtTo: instant('ingestedAtTo'),
      accountIds: customers,
    });
    return events.map(ingestedEvent);
  }

  @ApiDoc({
    summary: 'Send usage events, the OpenMeter way',
    body: OpenMeterIntakeBody,
    bodyCheckedBy:
      'validateUsageEvent (cloud-event.validation.ts) checks each event of the exactly parsed batch in one pass, so that numbers stay exact, intake stays fast and every invalid event is named with its index',
    responses: { 204: { description: 'every event stored (duplicates included, silently)' } },
  })
  @Post()
  @ProducerRoute()
  @HttpCode(204)
  async ingest(
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Req() request: ProducerRequest,
  ): Promise<void> {
    const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (mediaType === 'application/cloudevents+json' && Array.isArray(body)) {
      throw badRequest(
        'application/cloudevents+json carries one event; send a batch as application/cloudevents-batch+json',
        [{ field: '', message: 'array given' }],
      );
    }
    if (mediaType === 'application/cloudevents-batch+json' && !Array.isArray(body)) {
      throw badRequest('application/cloudevents-batch+json carries an array of events', [
        { field: '', message: 'object given' },
      ]);
    }
    // 204 carries no per-event answer: no lookup of earlier copies (duplicates are accepted silently).
    await this.intake.ingest(batchOf(body, 'event'), request.producer, {
      allOrNothing: true,
      lookUpEarlierCopies: false,
    });
  }
}

/** A listed event as OpenMeter's IngestedEvent. */
const ingestedEvent = (e: ListedEvent) => {
  const ingestedAt = (e.acceptedAt ?? e.rejectedAt) as string;
  const notCounted = e.voidedAt
    ? `voided at ${e.voidedAt}: it does not count`
    : e.parkedReason
      ? `not counted yet: ${e.parkedReason.replaceAll('_', ' ')} (see GET /v1/parked-usage)`
      : undefined;
  return {
    event: {
      id: e.id,
      source: e.source,
      specversion: '1.0',
      type: e.type,
      subject: e.subject,
      time: e.time,
      data: e.data,
    },
    ...(notCounted && { validationError: notCounted }),
    ingestedAt,
    storedAt: e.recordedAt ?? ingestedAt,
  };
};
