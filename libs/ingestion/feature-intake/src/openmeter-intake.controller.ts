import { Body, Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import { ApiDoc, badRequest } from '@tally/shared/feature-runtime';
import { batchOf } from './batch';
import { IntakeService } from './intake.service';
import { OpenMeterIntakeBody } from './intake.schemas';
import { ProducerRequest, ProducerRoute } from './producer.guard';

/**
 * OpenMeter-compatible intake, as OpenMeter's v1 API: `POST /api/v1/events` with
 * application/cloudevents+json (one event), application/cloudevents-batch+json (an array) or
 * application/json (either). 204 when every event is stored (duplicates included, silently);
 * 400 problem+json naming each invalid event (index) and field, and then nothing is stored.
 */
@Controller('api/v1/events')
export class OpenMeterIntakeController {
  constructor(private readonly intake: IntakeService) {}

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
    await this.intake.ingest(batchOf(body, 'event'), request.producer, { allOrNothing: true });
  }
}
