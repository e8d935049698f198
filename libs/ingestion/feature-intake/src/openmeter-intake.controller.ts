import { Body, Controller, Headers, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { usageLimits } from '@tally/contracts/usage';
import { badRequest, ProblemException } from '@tally/shared/feature-runtime';
import { IntakeService } from './intake.service';
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

  @Post()
  @ProducerRoute()
  @HttpCode(204)
  async ingest(@Body() body: unknown, @Headers('content-type') contentType: string | undefined, @Req() request: ProducerRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<void> {
    const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
    if (body === undefined || body === null) throw badRequest('the body must be a CloudEvent or an array of CloudEvents', [{ field: '', message: 'empty body' }]);
    if (mediaType === 'application/cloudevents+json' && Array.isArray(body)) {
      throw badRequest('application/cloudevents+json carries one event; send a batch as application/cloudevents-batch+json', [{ field: '', message: 'array given' }]);
    }
    if (mediaType === 'application/cloudevents-batch+json' && !Array.isArray(body)) {
      throw badRequest('application/cloudevents-batch+json carries an array of events', [{ field: '', message: 'object given' }]);
    }
    const events = Array.isArray(body) ? body : [body];
    if (events.length === 0) throw badRequest('the batch is empty', [{ field: '', message: 'at least one event is required' }]);
    if (events.length > usageLimits.batchEvents) throw badRequest(`a batch holds at most ${usageLimits.batchEvents} events`, [{ field: '', message: `${events.length} events` }], 'batch-too-large');
    try {
      await this.intake.ingest(events, request.producer, { allOrNothing: true });
    } catch (error) {
      if (error instanceof ProblemException && error.problem.status === 503) void reply.header('retry-after', '1');
      throw error;
    }
  }
}
