import { ApiDoc } from '@tally/shared/feature-runtime';
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { batchOf, countBy } from './batch';
import { IntakeService } from './intake.service';
import { IntakeAnswer, IntakeBody } from './intake.schemas';
import { ProducerRequest, ProducerRoute } from './producer.guard';

@Controller('v1/events')
export class IntakeController {
  constructor(private readonly intake: IntakeService) {}

  /**
   * POST /v1/events — one CloudEvent or an array of them. 200 with a result per event, in input order:
   * accepted, duplicate, or rejected with reasons; one bad event never fails the others.
   */
  @ApiDoc({
    summary: 'Send usage events (one, or a batch)',
    body: IntakeBody,
    bodyCheckedBy:
      'validateUsageEvent (cloud-event.validation.ts) checks each event of the exactly parsed batch in one pass, so that numbers stay exact, intake stays fast and one bad event is a rejected result, not a failed request',
    responses: {
      200: { description: 'a result per event, in input order, with the counts', schema: IntakeAnswer },
    },
  })
  @Post()
  @ProducerRoute()
  @HttpCode(200)
  async ingest(@Body() body: unknown, @Req() request: ProducerRequest) {
    const results = await this.intake.ingest(batchOf(body, 'event'), request.producer);
    return { ...countBy(results, ['accepted', 'duplicate', 'rejected']), results };
  }
}
