import { Logger } from '@tally/shared/util-telemetry';
import { messageOf } from '@tally/shared/util-core';
import {
  backoffFor,
  BatchHandler,
  ConsumerSpec,
  ConsumerStatus,
  deadLetterSubject,
  Delivery,
  PoisonMessageError,
} from './message-bus.port';

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

export type DeadLetterWriter = (subject: string, delivery: Delivery, error: unknown) => Promise<void>;

/**
 * The one retry policy both adapters share. The whole batch goes to the handler in one transaction; if
 * that fails, each message is tried alone, so one poison message never holds back the rest (during an
 * outage each lone try fails fast too). A message that fails alone is dead-lettered only when it can never
 * succeed (PoisonMessageError); any other failure — a database or broker away, a timeout, a conflict, a
 * bug — is retried without limit with capped exponential backoff: nothing acknowledged is thrown away,
 * and the consumer shows `stalled` until the message goes through.
 */
export const processBatch = async (
  spec: Required<ConsumerSpec>,
  batch: readonly InFlight[],
  handler: BatchHandler,
  deadLetter: DeadLetterWriter,
  health: ConsumerHealth,
): Promise<void> => {
  try {
    await handler(batch.map((m) => m.delivery));
    await Promise.all(batch.map((m) => m.settle.ack()));
    health.succeeded(batch.map((m) => m.delivery));
    return;
  } catch (error) {
    if (batch.length === 1) return settleFailure(spec, batch[0], error, deadLetter, health);
  }
  for (const message of batch) {
    try {
      await handler([message.delivery]);
      await message.settle.ack();
      health.succeeded([message.delivery]);
    } catch (error) {
      await settleFailure(spec, message, error, deadLetter, health);
    }
  }
};

const settleFailure = async (
  spec: Required<ConsumerSpec>,
  message: InFlight,
  error: unknown,
  deadLetter: DeadLetterWriter,
  health: ConsumerHealth,
): Promise<void> => {
  if (error instanceof PoisonMessageError) {
    // Stored in the dead-letter stream before it is let go: a crash in between redelivers it, never loses it.
    await deadLetter(deadLetterSubject(spec.durable), message.delivery, error);
    await message.settle.term();
    health.deadLettered(message.delivery, error);
  } else {
    health.failed(message.delivery, error);
    await message.settle.nak(backoffFor(spec, message.delivery.deliveryCount));
  }
};

export const deadLetterHeaders = (spec: ConsumerSpec, delivery: Delivery, error: unknown): Record<string, string> => ({
  ...delivery.headers,
  'Tally-Dead-Letter-Consumer': spec.durable,
  'Tally-Dead-Letter-Subject': delivery.subject,
  'Tally-Dead-Letter-Sequence': String(delivery.streamSequence),
  'Tally-Dead-Letter-Deliveries': String(delivery.deliveryCount),
  'Tally-Dead-Letter-Reason': messageOf(error).slice(0, 1_000),
});

/** Headers that only describe a dead letter: dropped again when it is replayed. */
export const isDeadLetterHeader = (name: string): boolean => /^tally-dead-letter-|^nats-msg-id$/i.test(name);

/**
 * What a consumer's deliveries say about it: which messages are failing right now (a failure not yet
 * followed by a success of the same message), since when, and why. A failing message is retried at least
 * every backoff.maxMs, so one that has not failed again for `forgetAfterMs` (maxMs + 2 s) went through —
 * perhaps on another instance of the consumer — and is forgotten: `stalled` ends within that after an outage.
 * Logs transitions, not every failure: an outage fails every message in hand at every retry.
 */
export class ConsumerHealth {
  private readonly failing = new Map<number, number>();
  private stalledSince: number | null = null;
  private lastError: string | null = null;
  private lastReported = 0;
  private deadLetterCount = 0;
  private ackedCount = 0;
  private failedCount = 0;
  private redeliveredCount = 0;
  private stopped = false;

  constructor(
    private readonly durable: string,
    private readonly forgetAfterMs: number,
    private readonly log: Logger,
  ) {}

  succeeded(deliveries: readonly Delivery[]): void {
    this.ackedCount += deliveries.length;
    for (const d of deliveries) {
      this.failing.delete(d.streamSequence);
      if (d.deliveryCount > 1) this.redeliveredCount += 1;
    }
    this.settle();
  }

  failed(delivery: Delivery, error: unknown): void {
    this.failedCount += 1;
    if (delivery.deliveryCount > 1) this.redeliveredCount += 1;
    this.stall(
      delivery.streamSequence,
      error,
      ` (message #${delivery.streamSequence}, delivery ${delivery.deliveryCount})`,
    );
  }

  deadLettered(delivery: Delivery, error: unknown): void {
    this.deadLetterCount += 1;
    if (delivery.deliveryCount > 1) this.redeliveredCount += 1;
    this.log.warn(
      {
        consumer: this.durable,
        streamSequence: delivery.streamSequence,
        subject: delivery.subject,
        reason: messageOf(error),
      },
      'message can never succeed: dead-lettered',
    );
    this.failing.delete(delivery.streamSequence);
    this.settle();
  }

  /** The consumer could not even fetch (broker or database away): stalled as a whole. */
  unreachable(error: unknown): void {
    this.stall(-1, error, ' (cannot fetch messages)');
  }

  /** Fetching works again. */
  reachable(): void {
    if (this.failing.delete(-1)) this.settle();
  }

  stop(): void {
    this.stopped = true;
  }

  status(): ConsumerStatus {
    const horizon = Date.now() - this.forgetAfterMs;
    for (const [sequence, at] of this.failing) if (at < horizon) this.failing.delete(sequence);
    this.settle();
    return {
      durable: this.durable,
      state: this.stopped ? 'stopped' : this.failing.size > 0 ? 'stalled' : 'running',
      stalledSince: this.stalledSince === null ? null : new Date(this.stalledSince).toISOString(),
      failingMessages: [...this.failing.keys()].filter((s) => s >= 0).length,
      lastError: this.lastError,
      deadLettered: this.deadLetterCount,
      acked: this.ackedCount,
      failed: this.failedCount,
      redelivered: this.redeliveredCount,
    };
  }

  private stall(key: number, error: unknown, where: string): void {
    const now = Date.now();
    this.failing.set(key, now);
    this.lastError = messageOf(error);
    if (this.stalledSince === null) {
      this.stalledSince = now;
      this.lastReported = now;
      this.log.warn(
        { consumer: this.durable, reason: this.lastError, where: where.trim() },
        'consumer stalled, retrying with backoff',
      );
    } else if (now - this.lastReported >= reportEveryMs) {
      this.lastReported = now;
      this.log.warn(
        {
          consumer: this.durable,
          stalledSeconds: Math.round((now - this.stalledSince) / 1_000),
          failing: this.failing.size,
          reason: this.lastError,
        },
        'consumer still stalled',
      );
    }
  }

  private settle(): void {
    if (this.failing.size > 0 || this.stalledSince === null) return;
    this.log.info(
      { consumer: this.durable, stalledSeconds: Math.round((Date.now() - this.stalledSince) / 100) / 10 },
      'consumer recovered',
    );
    this.stalledSince = null;
  }
}

const reportEveryMs = 30_000;
