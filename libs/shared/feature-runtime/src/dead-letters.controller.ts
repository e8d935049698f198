import { ApiDoc } from './openapi';
import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { OperatorOnly } from './auth';
import { notFound } from './problem';
import { QueryText } from './query-text';
import {
  ConsumerList,
  deadLetterIdParam,
  DeadLetterPage,
  DeadLetterReplayed,
  deadLettersQuery,
  ReplayAllRequest,
  ReplayAllRequestBody,
  ReplayedCount,
} from './runtime.schemas';
import { MESSAGE_BUS } from './tokens';
import { MessageBus } from '@tally/shared/data-access-messaging';

const maxPage = 1_000;

/**
 * The dead-letter store (messages a consumer found could never succeed) and the consumers' states.
 * Replay publishes a dead letter again on its original subject; it is idempotent (a replayed id is gone).
 */
@Controller('v1/admin')
export class DeadLettersController {
  constructor(@Inject(MESSAGE_BUS) private readonly bus: MessageBus) {}

  @ApiDoc({
    summary: 'Dead letters: messages a consumer gave up on',
    query: deadLettersQuery,
    responses: { 200: { description: 'a page, oldest first', schema: DeadLetterPage } },
  })
  @Get('dead-letters')
  @OperatorOnly()
  async list(
    @QueryText('consumer') consumer?: string,
    @QueryText('after') after?: string,
    @QueryText('limit') limit?: string,
  ) {
    // The query's schema (deadLettersQuery) has checked limit (1 to 1000) and after (digits) before this runs.
    const size = limit === undefined ? 100 : Number(limit);
    const deadLetters = await this.bus.deadLetters.list({ consumer, after, limit: size });
    return { deadLetters, next: deadLetters.length === size ? deadLetters[deadLetters.length - 1].id : null };
  }

  @ApiDoc({
    summary: 'Replay one dead letter',
    params: deadLetterIdParam,
    responses: { 200: { description: 'published again on its original subject', schema: DeadLetterReplayed } },
  })
  @Post('dead-letters/:id/replay')
  @OperatorOnly()
  @HttpCode(200)
  async replay(@Param('id') id: string) {
    if ((await this.bus.deadLetters.replay(id)) === 'not_found')
      throw notFound(`no dead letter ${id} (already replayed, or never there)`);
    return { id, status: 'replayed' };
  }

  /** Every dead letter present when asked (of one consumer, if given): ones that fail again come back with new ids. */
  @ApiDoc({
    summary: 'Replay dead letters (all, or one consumer’s)',
    body: ReplayAllRequest,
    responses: { 200: { description: 'how many were published again', schema: ReplayedCount } },
  })
  @Post('dead-letters/replay')
  @OperatorOnly()
  @HttpCode(200)
  async replayAll(@Body() body: ReplayAllRequestBody) {
    // The body's schema (ReplayAllRequest) has checked it before this runs: none, or an object.
    const consumer = body?.consumer;
    const ids: string[] = [];
    for (let page = await this.bus.deadLetters.list({ consumer, limit: maxPage }); page.length > 0;) {
      ids.push(...page.map((d) => d.id));
      page =
        page.length < maxPage
          ? []
          : await this.bus.deadLetters.list({ consumer, after: ids[ids.length - 1], limit: maxPage });
    }
    let replayed = 0;
    for (const id of ids) if ((await this.bus.deadLetters.replay(id)) === 'replayed') replayed += 1;
    return { replayed };
  }

  @ApiDoc({
    summary: 'Bus consumers and their state',
    responses: { 200: { description: "this process's consumers", schema: ConsumerList } },
  })
  @Get('consumers')
  @OperatorOnly()
  consumers() {
    return { consumers: this.bus.consumerStatuses() };
  }
}
