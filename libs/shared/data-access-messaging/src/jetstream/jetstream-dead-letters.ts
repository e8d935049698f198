import { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { isDeadLetterHeader } from '../delivery-policy';
import { deadLetterStream, DeadLetter, DeadLetterStore } from '../message-bus.port';
import { Namespace } from '../namespace';
import { fromNatsHeaders, toNatsHeaders } from './jetstream-headers';
import { messageOf } from '@tally/shared/util-core';

/**
 * The dead-letter stream (`<NS>_DLQ`, subjects `<ns>.dlq.<durable>`) read one message at a time by
 * direct get — the next message on or after a sequence, on a subject — so a listing never creates a
 * consumer. Replay publishes the message again on its original subject under the message id
 * `replay:<dead-letter sequence>` (a repeated replay is a duplicate in JetStream's window, and every
 * consumer is idempotent beyond it), then deletes it from the dead-letter stream.
 */
export class JetStreamDeadLetters implements DeadLetterStore {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly names: Namespace,
    private readonly ensureStream: () => Promise<void>,
  ) {}

  async list(options: { consumer?: string; after?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    await this.ensureStream();
    const subject = this.names.subject(options.consumer ? `dlq.${options.consumer}` : 'dlq.>');
    const found: DeadLetter[] = [];
    let seq = Number(options.after ?? 0) + 1;
    while (found.length < (options.limit ?? 100)) {
      const message = await this.jsm.direct
        .getMessage(this.names.stream(deadLetterStream), { seq, next_by_subj: subject })
        .catch(notFoundAsNull);
      if (!message) break;
      found.push(toDeadLetter(message));
      seq = message.seq + 1;
    }
    return found;
  }

  async replay(id: string): Promise<'replayed' | 'not_found'> {
    // Sequences start at 1; anything else is no dead letter (JetStream answers 'bad request' to 0).
    if (!/^[1-9]\d{0,15}$/.test(id)) return 'not_found';
    await this.ensureStream();
    const stream = this.names.stream(deadLetterStream);
    const message = await this.jsm.streams.getMessage(stream, { seq: Number(id) }).catch(notFoundAsNull);
    if (!message) return 'not_found';
    const letter = toDeadLetter(message);
    const headers = Object.fromEntries(Object.entries(letter.headers).filter(([name]) => !isDeadLetterHeader(name)));
    await this.js.publish(this.names.subject(letter.subject), message.data, {
      msgID: `replay:${letter.id}`,
      headers: toNatsHeaders({ ...headers, 'Tally-Replayed-From': `dead-letter ${letter.id}` }),
    });
    await this.jsm.streams.deleteMessage(stream, message.seq, false).catch((error) => {
      if (!isNotFound(error)) throw error;
    });
    return 'replayed';
  }
}

const toDeadLetter = (message: StoredMsg): DeadLetter => {
  const headers = fromNatsHeaders(message.header);
  return {
    id: String(message.seq),
    consumer: headers['Tally-Dead-Letter-Consumer'] ?? '',
    subject: headers['Tally-Dead-Letter-Subject'] ?? '',
    originalSequence: Number(headers['Tally-Dead-Letter-Sequence'] ?? 0),
    deliveries: Number(headers['Tally-Dead-Letter-Deliveries'] ?? 0),
    reason: headers['Tally-Dead-Letter-Reason'] ?? '',
    deadLetteredAt: message.time.toISOString(),
    body: new TextDecoder().decode(message.data),
    headers,
  };
};

const isNotFound = (error: unknown): boolean => /not found|no message/i.test(messageOf(error));
const notFoundAsNull = (error: unknown): null => {
  if (isNotFound(error)) return null;
  throw error;
};
