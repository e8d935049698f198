import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { usageLimits } from '@tally/contracts/usage';
import { badRequest, ProblemException } from '@tally/shared/feature-runtime';
import { IntakeService } from './intake.service';
import { ProducerRequest, ProducerRoute } from './producer.guard';

@Controller('v1/events/corrections')
export class CorrectionsController {
  constructor(private readonly intake: IntakeService) {}

  /**
   * POST /v1/events/corrections — one correction or an array:
   *   { "action": "void",  "source": "…", "id": "…", "reason": "…" }
   *   { "action": "amend", "source": "…", "id": "…", "reason": "…", "data": { … } }
   * 200 with a result per correction, in input order. Corrections are new ledger events, never edits.
   */
  @Post()
  @HttpCode(200)
  @ProducerRoute()
  async correct(@Body() body: unknown, @Req() request: ProducerRequest, @Res({ passthrough: true }) reply: FastifyReply) {
    if (body === undefined || body === null) throw badRequest('the body must be a correction or an array of corrections', [{ field: '', message: 'empty body' }]);
    const corrections = Array.isArray(body) ? body : [body];
    if (corrections.length === 0) throw badRequest('the batch is empty', [{ field: '', message: 'at least one correction is required' }]);
    if (corrections.length > usageLimits.batchEvents) throw badRequest(`a batch holds at most ${usageLimits.batchEvents} corrections`, [{ field: '', message: `${corrections.length} corrections` }], 'batch-too-large');
    try {
      const results = await this.intake.correct(corrections, request.producer);
      return { accepted: results.filter((r) => r.status === 'accepted').length, rejected: results.filter((r) => r.status === 'rejected').length, results };
    } catch (error) {
      if (error instanceof ProblemException && error.problem.status === 503) void reply.header('retry-after', '1');
      throw error;
    }
  }
}
