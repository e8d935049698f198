import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { badRequest, ProblemException } from '@tally/shared/feature-runtime';
import { usageLimits } from '@tally/contracts/usage';
import { IntakeService } from './intake.service';
import { ProducerRequest, ProducerRoute } from './producer.guard';

@Controller('v1/events')
export class IntakeController {
  constructor(private readonly intake: IntakeService) {}

  /**
   * POST /v1/events — one CloudEvent or an array of them. 200 with a result per event, in input order:
   * accepted, duplicate, or rejected with reasons; one bad event never fails the others.
   */
  @Post()
  @ProducerRoute()
  @HttpCode(200)
  async ingest(@Body() body: unknown, @Req() request: ProducerRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    if (body === undefined || body === null) throw badRequest('the body must be a CloudEvent or an array of CloudEvents', [{ field: '', message: 'empty body' }]);
    const events = Array.isArray(body) ? body : [body];
    if (events.length === 0) throw badRequest('the batch is empty', [{ field: '', message: 'at least one event is required' }]);
    if (events.length > usageLimits.batchEvents) throw badRequest(`a batch holds at most ${usageLimits.batchEvents} events`, [{ field: '', message: `${events.length} events` }], 'batch-too-large');
    try {
      const results = await this.intake.ingest(events, request.producer);
      return {
        accepted: results.filter((r) => r.status === 'accepted').length,
        duplicate: results.filter((r) => r.status === 'duplicate').length,
        rejected: results.filter((r) => r.status === 'rejected').length,
        results,
      };
    } catch (error) {
      if (error instanceof ProblemException && error.problem.status === 503) void reply.header('retry-after', '1');
      throw error;
    }
  }
}
