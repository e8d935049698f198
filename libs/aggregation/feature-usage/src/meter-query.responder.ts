import { Inject, Injectable } from '@nestjs/common';
import { MeterQueryRequestV1, meterQuerySubject } from '@tally/contracts/meters';
import { Consumer, encodeJson, MessageBus, Request } from '@tally/shared/data-access-messaging';
import { actFor, badRequest, Log, LOG, MESSAGE_BUS, NatsCallers, problemReply } from '@tally/shared/feature-runtime';
import { messageOf } from '@tally/shared/util-core';
import { MeterQueryService } from './meter-query.service';

/**
 * The meter query over NATS (`aggregation.qry.meter-query.v1`, see the contract) for a platform's own
 * services — NestJS ones included, through their ClientProxy (the bus opens and closes Nest's envelope).
 * Every aggregation replica answers in the `aggregation_meter_query` queue group.
 */
@Injectable()
export class MeterQueryResponder {
  private serving?: Consumer;

  constructor(
    @Inject(MESSAGE_BUS) private readonly bus: MessageBus,
    @Inject(LOG) private readonly log: Log,
    private readonly callers: NatsCallers,
    private readonly meterQuery: MeterQueryService,
  ) {}

  async start(): Promise<void> {
    this.serving = await this.bus.serveRequests(meterQuerySubject, 'aggregation_meter_query', (request) =>
      this.answer(request),
    );
  }

  async stop(): Promise<void> {
    await this.serving?.stop();
  }

  async answer(request: Request) {
    try {
      const caller = await this.callers.reader(request.headers);
      const asked = parseRequest(request.data);
      const { body } = await actFor(caller.tenant, () => this.meterQuery.answer(asked.meter, queryParams(asked)));
      return { data: encodeJson(body) };
    } catch (error) {
      return problemReply(error, this.log, 'NATS meter query');
    }
  }
}

const parseRequest = (data: Uint8Array): MeterQueryRequestV1 => {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (error) {
    throw badRequest(`the request is not valid JSON: ${messageOf(error)}`);
  }
  if (typeof value !== 'object' || value === null || typeof (value as { meter?: unknown }).meter !== 'string')
    throw badRequest('the request names no meter', [{ field: 'meter', message: 'a meter slug is required' }]);
  return value as MeterQueryRequestV1;
};

/** The request as the HTTP query's parameters (one parser for both). */
const queryParams = (asked: MeterQueryRequestV1): Record<string, string | string[] | undefined> => {
  const { meter: _meter, filterGroupBy, ...rest } = asked;
  const params: Record<string, string | string[] | undefined> = {};
  for (const [key, value] of Object.entries(rest))
    if (value !== undefined) params[key] = Array.isArray(value) ? value.map(String) : String(value);
  for (const [key, value] of Object.entries(filterGroupBy ?? {})) params[`filterGroupBy[${key}]`] = String(value);
  return params;
};
