import { ApiDoc } from '@tally/shared/feature-runtime';
import { Body, Controller, HttpCode, Post, Req } from '@nestjs/common';
import { batchOf, countBy } from './batch';
import { IntakeService } from './intake.service';
import { CorrectionsAnswer, CorrectionsBody } from './intake.schemas';
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
  @ApiDoc({
    summary: 'Void or amend events already sent',
    body: CorrectionsBody,
    bodyCheckedBy:
      'validateCorrection (correction.validation.ts) checks each correction of the exactly parsed batch in one pass, so that amended numbers stay exact and one bad correction is a rejected result, not a failed request',
    responses: {
      200: { description: 'a result per correction, in input order, with the counts', schema: CorrectionsAnswer },
    },
  })
  @Post()
  @HttpCode(200)
  @ProducerRoute()
  async correct(@Body() body: unknown, @Req() request: ProducerRequest) {
    const results = await this.intake.correct(batchOf(body, 'correction'), request.producer);
    return { ...countBy(results, ['accepted', 'rejected']), results };
  }
}
