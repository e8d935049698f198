import { Inject, Injectable } from '@nestjs/common';
import { ingestCommandSubject } from '@tally/contracts/usage';
import { Consumer, encodeJson, MessageBus, Request } from '@tally/shared/data-access-messaging';
import {
  Log,
  LOG,
  MESSAGE_BUS,
  parseExactJson,
  ProblemException,
  problemReply,
  problemType,
} from '@tally/shared/feature-runtime';
import { ApiKeysService } from './api-keys.service';
import { batchOf, countBy } from './batch';
import { IntakeService } from './intake.service';
import { messageOf } from '@tally/shared/util-core';

/**
 * Intake over NATS request/reply (`tally.ingestion.cmd.ingest.v1`) for internal producers: the same
 * batch, the same per-event results, the same durable accept as `POST /v1/events`. Every ingestion
 * replica answers in the `ingestion_intake` queue group (in embedded mode: in-process).
 */
@Injectable()
export class NatsIntakeResponder {
  private serving?: Consumer;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(LOG) private readonly log: Log,
    private readonly keys: ApiKeysService,
    private readonly intake: IntakeService,
  ) {}

  async start(): Promise<void> {
    this.serving = await this.bus.serveRequests(ingestCommandSubject, 'ingestion_intake', (request) =>
      this.answer(request),
    );
  }

  async answer(request: Request) {
    try {
      return { data: encodeJson(await this.ingest(request)) };
    } catch (error) {
      return problemReply(error, this.log, 'NATS intake');
    }
  }

  private async ingest(request: Request) {
    const token = /^Bearer\s+(\S+)$/i.exec(
      request.headers['Authorization'] ?? request.headers['authorization'] ?? '',
    )?.[1];
    const producer = token ? await this.keys.authenticate(token) : undefined;
    if (!producer)
      throw problem(
        401,
        'unauthorized',
        'Unauthorized',
        'NATS intake needs header Authorization: Bearer <API key> with a live key',
      );
    let body: unknown;
    try {
      body = parseExactJson(new TextDecoder().decode(request.data));
    } catch (error) {
      throw problem(
        400,
        'malformed-request',
        'Malformed request',
        `the request is not valid JSON: ${messageOf(error)}`,
      );
    }
    const results = await this.intake.ingest(batchOf(body, 'event'), producer);
    return { ...countBy(results, ['accepted', 'duplicate', 'rejected']), results };
  }

  async stop(): Promise<void> {
    await this.serving?.stop();
  }
}

const problem = (status: number, code: string, title: string, detail: string) =>
  new ProblemException({ type: problemType(code), title, status, detail });
