import { describe, expect, it } from 'vitest';
import { closeNestEnvelope, openNestEnvelope, speakingNestEnvelopes } from './nest-envelope';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe("NestJS's NATS envelope", () => {
  it('hands the handler the data of a send, numbers exactly as sent, and answers in the envelope', async () => {
    const seen: string[] = [];
    const answer = speakingNestEnvelopes(async (request) => {
      seen.push(text(request.data));
      return { data: bytes('{"accepted":1}') };
    });
    const reply = await answer({
      data: bytes(
        '{"pattern":"tally.ingestion.cmd.ingest.v1","data":[{"data":{"gb":0.1000000000000000055511}}],"id":"7"}',
      ),
      headers: {},
    });
    expect(seen).toEqual(['[{"data":{"gb":0.1000000000000000055511}}]']);
    expect(JSON.parse(text(reply.data))).toEqual({ id: '7', response: { accepted: 1 }, isDisposed: true });
  });

  it('answers a failure (Tally-Status 4xx/5xx) as err, so the caller’s observable errors', () => {
    const reply = closeNestEnvelope(
      { data: bytes('{"status":401,"title":"Unauthorized"}'), headers: { 'Tally-Status': '401' } },
      { id: '9' },
    );
    expect(JSON.parse(text(reply.data))).toEqual({
      id: '9',
      err: { status: 401, title: 'Unauthorized' },
      isDisposed: true,
    });
  });

  it('opens an emit (no id) and leaves plain bodies — and bodies that only look alike — as they are', () => {
    expect(openNestEnvelope({ data: bytes('{"pattern":"x","data":{"a":1}}'), headers: {} }).envelope).toEqual({
      id: undefined,
    });
    for (const plain of ['{"specversion":"1.0"}', '[{"pattern":"x"}]', '{"pattern":"x"}', '{"pattern": broken'])
      expect(openNestEnvelope({ data: bytes(plain), headers: {} }).envelope).toBeUndefined();
  });
});
