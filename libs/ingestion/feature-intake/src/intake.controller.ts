import { ApiDoc } from '@tally/shared/feature-runtime';
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { batchOf, countBy } from './batch';
import { IntakeService } from './intake.service';
import { ProducerRequest, ProducerRoute } from './producer.guard';

@Controller('v1/events')
export class IntakeController {
  constructor(private readonly intake: IntakeService) {}

  /**
   * POST /v1/events — one CloudEvent or an array of them. 200 with a result per event, in input order:
   * accepted, duplicate, or rejected with reasons; one bad event never fails the others.
   */
  @ApiDoc({ summary: 'Send usage events (one, or a batch)' })
  @Post()
  @ProducerRoute()
  @HttpCode(200)
  async ingest(@Body() body: unknown, @Req() request: ProducerRequest) {
    const results = await this.intake.ingest(batchOf(body, 'event'), request.producer);
    return { ...countBy(results, ['accepted', 'duplicate', 'rejected']), results };
  }
}
