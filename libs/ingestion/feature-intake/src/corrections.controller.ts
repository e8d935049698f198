import { ApiDoc } from '@tally/shared/feature-runtime';
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { batchOf, countBy } from './batch';
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
  @ApiDoc({ summary: 'Void or amend events already sent' })
  @Post()
  @HttpCode(200)
  @ProducerRoute()
  async correct(@Body() body: unknown, @Req() request: ProducerRequest) {
    const results = await this.intake.correct(batchOf(body, 'correction'), request.producer);
    return { ...countBy(results, ['accepted', 'rejected']), results };
  }
}
