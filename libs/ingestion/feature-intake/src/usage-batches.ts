import { createHash } from 'node:crypto';
import { UsageEventV1 } from '@tally/contracts/usage';

/** Below nats-server's default max_payload (1 MiB), with room for headers. */
export const maxMessageBytes = 900_000;

export interface EncodedBatch {
  /** Indexes (in the request) of the events in this message. */
  indexes: number[];
  payload: Uint8Array;
  /** Same events, same tenant → same id: JetStream drops a re-sent identical message inside its window. */
  msgId: string;
}

/**
 * Splits accepted events into UsageBatchV1 messages under the size limit. Each event is serialised
 * once and the envelope is assembled around the parts, so a 1,000-event request costs one pass.
 */
export const encodeUsageBatches = (
  tenant: string,
  receivedAt: string,
  events: readonly { index: number; event: UsageEventV1 }[],
): EncodedBatch[] => {
  const head = `{"tenant":${JSON.stringify(tenant)},"receivedAt":${JSON.stringify(receivedAt)},"events":[`;
  const batches: EncodedBatch[] = [];
  let parts: string[] = [];
  let indexes: number[] = [];
  let keys: string[] = [];
  let bytes = head.length + 2;
  const flush = () => {
    if (parts.length === 0) return;
    const hash = createHash('sha256').update(tenant);
    for (const key of keys) hash.update(key);
    batches.push({
      indexes,
      payload: Buffer.from(`${head}${parts.join(',')}]}`),
      msgId: `usage:${hash.digest('base64url')}`,
    });
    parts = [];
    indexes = [];
    keys = [];
    bytes = head.length + 2;
  };
  for (const { index, event } of events) {
    const part = JSON.stringify(event);
    const size = Buffer.byteLength(part) + 1;
    if (bytes + size > maxMessageBytes) flush();
    parts.push(part);
    indexes.push(index);
    keys.push(`\u0000${event.source}\u0000${event.id}`);
    bytes += size;
  }
  flush();
  return batches;
};
