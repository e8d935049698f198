import { backoffFor, BatchHandler, ConsumerSpec, deadLetterSubject, Delivery } from './message-bus.port';

/** What an adapter can do with one message it handed out. */
export interface Settle {
  ack(): Promise<void> | void;
  nak(delayMs: number): Promise<void> | void;
  /** Stop redelivering (after the message went to the dead-letter subject). */
  term(): Promise<void> | void;
}

export interface InFlight {
  delivery: Delivery;
  settle: Settle;
}

/**
 * The one retry policy both adapters share. The whole batch goes to the handler in one
 * transaction; if that fails, each message is retried alone so one poison message never holds
 * back the rest; a message that still fails is nak'd with backoff, or dead-lettered once it has
 * been delivered maxDeliver times.
 */
export const processBatch = async (
  spec: Required<ConsumerSpec>,
  batch: readonly InFlight[],
  handler: BatchHandler,
  deadLetter: (subject: string, delivery: Delivery, error: unknown) => Promise<void>,
  onError: (error: unknown, delivery?: Delivery) => void,
): Promise<void> => {
  try {
    await handler(batch.map((m) => m.delivery));
    await Promise.all(batch.map((m) => m.settle.ack()));
    return;
  } catch (error) {
    if (batch.length === 1) return settleFailure(spec, batch[0], error, deadLetter, onError);
  }
  for (const message of batch) {
    try {
      await handler([message.delivery]);
      await message.settle.ack();
    } catch (error) {
      await settleFailure(spec, message, error, deadLetter, onError);
    }
  }
};

const settleFailure = async (
  spec: Required<ConsumerSpec>,
  message: InFlight,
  error: unknown,
  deadLetter: (subject: string, delivery: Delivery, error: unknown) => Promise<void>,
  onError: (error: unknown, delivery?: Delivery) => void,
): Promise<void> => {
  onError(error, message.delivery);
  if (message.delivery.deliveryCount >= spec.maxDeliver) {
    await deadLetter(deadLetterSubject(spec.durable), message.delivery, error);
    await message.settle.term();
  } else {
    await message.settle.nak(backoffFor(spec, message.delivery.deliveryCount));
  }
};

export const deadLetterHeaders = (spec: ConsumerSpec, delivery: Delivery, error: unknown): Record<string, string> => ({
  ...delivery.headers,
  'Tally-Dead-Letter-Consumer': spec.durable,
  'Tally-Dead-Letter-Subject': delivery.subject,
  'Tally-Dead-Letter-Sequence': String(delivery.streamSequence),
  'Tally-Dead-Letter-Deliveries': String(delivery.deliveryCount),
  'Tally-Dead-Letter-Reason': (error instanceof Error ? error.message : String(error)).slice(0, 1_000),
});
