import {
  applyDecorators,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
  UseInterceptors,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { Observable } from 'rxjs';
import { ProjectionCatalog } from './projection-catalog';

const READS_FROM = 'tally:reads-from-projection';

/** The response header saying how much of the ledger an answer reflects. */
export const ledgerPositionHeader = 'Tally-Ledger-Position';

/**
 * Sets `Tally-Ledger-Position` on the answer: the checkpoint of the projection it is read from, taken
 * before the read, so the answer reflects the ledger at least up to that global position (0: nothing
 * applied yet). A client compares it with an earlier answer's, or with where its own events landed.
 */
@Injectable()
export class LedgerPositionInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly catalog: ProjectionCatalog,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const projection =
      this.reflector.get<string>(READS_FROM, context.getHandler()) ??
      this.reflector.get<string>(READS_FROM, context.getClass());
    if (projection) {
      const position = await this.catalog.get(projection).checkpoint();
      void context
        .switchToHttp()
        .getResponse<FastifyReply>()
        .header(ledgerPositionHeader, (position ?? 0n).toString());
    }
    return next.handle();
  }
}

/** On a controller or route answered from a projection's tables. */
export const ReadsFrom = (projection: string) =>
  applyDecorators(SetMetadata(READS_FROM, projection), UseInterceptors(LedgerPositionInterceptor));
