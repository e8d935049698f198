import { ApiDoc } from './openapi';
import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { OperatorOnly } from './auth';
import { badRequest, notFound } from './problem';
import { QueryText } from './query-text';
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

  @ApiDoc({ summary: 'Dead letters: messages a consumer gave up on' })
  @Get('dead-letters')
  @OperatorOnly()
  async list(
    @QueryText('consumer') consumer?: string,
    @QueryText('after') after?: string,
    @QueryText('limit') limit?: string,
  ) {
    const size = limit === undefined ? 100 : Number(limit);
    if (!Number.isInteger(size) || size < 1 || size > maxPage)
      throw badRequest(`limit must be an integer from 1 to ${maxPage}`, [{ field: 'limit', message: 'out of range' }]);
    if (after !== undefined && !/^\d{1,16}$/.test(after))
      throw badRequest('after must be the id of a dead letter (digits)', [{ field: 'after', message: 'not an id' }]);
    const deadLetters = await this.bus.deadLetters.list({ consumer, after, limit: size });
    return { deadLetters, next: deadLetters.length === size ? deadLetters[deadLetters.length - 1].id : null };
  }

  @ApiDoc({ summary: 'Replay one dead letter' })
  @Post('dead-letters/:id/replay')
  @OperatorOnly()
  @HttpCode(200)
  async replay(@Param('id') id: string) {
    if ((await this.bus.deadLetters.replay(id)) === 'not_found')
      throw notFound(`no dead letter ${id} (already replayed, or never there)`);
    return { id, status: 'replayed' };
  }

  /** Every dead letter present when asked (of one consumer, if given): ones that fail again come back with new ids. */
  @ApiDoc({ summary: 'Replay dead letters (all, or one consumer’s)' })
  @Post('dead-letters/replay')
  @OperatorOnly()
  @HttpCode(200)
  async replayAll(@Body() body: { consumer?: unknown } | undefined) {
    const consumer = body?.consumer;
    if (consumer !== undefined && typeof consumer !== 'string')
      throw badRequest('consumer must be a string', [{ field: 'consumer', message: 'not a string' }]);
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

  @ApiDoc({ summary: 'Bus consumers and their state' })
  @Get('consumers')
  @OperatorOnly()
  consumers() {
    return { consumers: this.bus.consumerStatuses() };
  }
}
