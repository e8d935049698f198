import { parse, stringify } from 'lossless-json';
import { Reply, Request } from './message-bus.port';

/**
 * NestJS services speak NATS through `@nestjs/microservices` (`ClientProxy`, `Transport.NATS`), which wraps
 * what it sends: `client.send(subject, data)` publishes `{"pattern":…,"data":…,"id":…}` and waits for
 * `{"id":…,"response":…,"isDisposed":true}` (or `"err"`) on its inbox; `client.emit(subject, data)` publishes
 * `{"pattern":…,"data":…}` and waits for nothing. Tally's request subjects take both those envelopes and plain
 * bodies: an enveloped request is handed to the handler as its `data`, and answered in the envelope. Numbers
 * pass through exactly (lossless-json: the envelope is opened without turning quantities into floats).
 * Only a body that starts `{"pattern":` is looked at twice: no Tally body does.
 */
export interface NestEnvelope {
  /** Absent for an `emit` (an event: nobody waits for an answer). */
  id?: string;
}

const opening = new TextEncoder().encode('{"pattern":');
const startsWithPattern = (data: Uint8Array) => opening.every((byte, i) => data[i] === byte);

export const openNestEnvelope = (request: Request): { request: Request; envelope?: NestEnvelope } => {
  if (!startsWithPattern(request.data)) return { request };
  let packet: unknown;
  try {
    packet = parse(new TextDecoder().decode(request.data));
  } catch {
    return { request }; // not JSON: the handler says so in its own words
  }
  if (typeof packet !== 'object' || packet === null || !('data' in packet)) return { request };
  const { data, id } = packet as { data: unknown; id?: unknown };
  return {
    request: { ...request, data: new TextEncoder().encode(stringify(data) ?? 'null') },
    envelope: { id: typeof id === 'string' ? id : undefined },
  };
};

/**
 * The reply in Nest's envelope: an answer marked as a failure (`Tally-Status` 4xx/5xx, a problem+json body)
 * becomes `err` — the caller's observable errors with the problem — anything else `response`.
 */
export const closeNestEnvelope = (reply: Reply, envelope: NestEnvelope): Reply => {
  const text = new TextDecoder().decode(reply.data);
  const body = text === '' ? null : parse(text);
  const failed = Number(reply.headers?.['Tally-Status'] ?? 200) >= 400;
  return {
    data: new TextEncoder().encode(
      stringify({ id: envelope.id, ...(failed ? { err: body } : { response: body }), isDisposed: true }) ?? '',
    ),
    headers: reply.headers,
  };
};

/** Wraps a request handler so that it also answers NestJS clients (see above). */
export const speakingNestEnvelopes =
  (handler: (request: Request) => Promise<Reply>) =>
  async (incoming: Request): Promise<Reply> => {
    const { request, envelope } = openNestEnvelope(incoming);
    const reply = await handler(request);
    return envelope ? closeNestEnvelope(reply, envelope) : reply;
  };
