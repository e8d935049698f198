import { messageOf } from '@tally/shared/util-core';
import { SpanKind, SpanOptions } from '@tally/shared/util-telemetry';
/**
 * Durable messaging for billing facts. Two adapters: NATS JetStream (distributed) and a
 * Postgres-backed bus (embedded mode, no broker). One contract suite holds both to:
 * publish is acknowledged only once stored; a message id published twice is stored once;
 * a consumer acks only after its handler resolved (its transaction committed); a failure is
 * retried without limit (capped exponential backoff, the consumer shows `stalled`) unless the
 * message can never succeed (PoisonMessageError), which is dead-lettered at once — inspectable and
 * replayable; a crashed consumer's messages are redelivered after ackWait; a consumer outlives its
 * broker or database going away and resumes by itself; close() drains what is in hand.
 *
 * Names given to the bus are logical ('USAGE', 'ingestion.evt.usage-received.v1'); the bus
 * prefixes them with its namespace (TALLY_USAGE, tally.ingestion.evt.usage-received.v1).
 */
export interface StreamSpec {
  name: string;
  subjects: readonly string[];
}

export interface ConsumerSpec {
  stream: string;
  /** Durable consumer name, `<app>_<purpose>`; survives restarts. */
  durable: string;
  filterSubject: string;
  /** Messages handed to the handler at once. */
  batchSize?: number;
  /** Redelivery delay after a failure: doubles from initialMs with each delivery, never above maxMs. */
  backoff?: { initialMs: number; maxMs: number };
  /** Unacknowledged messages (a crashed handler) are redelivered after this long. */
  ackWaitMs?: number;
}

/**
 * A message that can never succeed, however often it is retried: it does not decode, or fails validation.
 * The only failure that dead-letters a message; every other error is taken as transient and retried.
 */
export class PoisonMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoisonMessageError';
  }
}

export interface ConsumerStatus {
  durable: string;
  /**
   * running: handling messages (or waiting for them); stalled: a message failed recently and has not
   * succeeded since (retrying with backoff: an outage, or a handler that keeps failing); stopped.
   */
  state: 'running' | 'stalled' | 'stopped';
  /** When the current stall began. */
  stalledSince: string | null;
  /** Messages failing right now (each retried with backoff). */
  failingMessages: number;
  lastError: string | null;
  /** Counted since this process started the consumer (Prometheus counters are made of them). */
  deadLettered: number;
  /** Messages handled and acknowledged. */
  acked: number;
  /** Handler failures (each retried). */
  failed: number;
  /** Deliveries of a message that had been delivered before (a failure, a crash, an ack that never came). */
  redelivered: number;
}

export interface Delivery {
  /** Logical subject (without the namespace). */
  subject: string;
  data: Uint8Array;
  headers: Record<string, string>;
  msgId?: string;
  /** 1 on first delivery. */
  deliveryCount: number;
  streamSequence: number;
}

/** Handles a batch atomically: resolve = all processed and committed; throw = none. */
export type BatchHandler = (batch: readonly Delivery[]) => Promise<void>;

export interface PublishResult {
  duplicate: boolean;
  streamSequence: number;
}

export interface Consumer {
  stop(): Promise<void>;
  status(): ConsumerStatus;
  /**
   * Messages of its subject not yet acknowledged — waiting, or in a handler's hands — as the broker (or the
   * embedded bus's tables) count them; the embedded bus counts up to 100,000. One round trip: for scrapes.
   */
  pending(): Promise<number>;
}

/** Each consumer's pending count, leaving out one that cannot be asked right now (its broker away). */
export const pendingOf = async (consumers: readonly Consumer[]): Promise<{ durable: string; pending: number }[]> => {
  const answers = await Promise.all(
    consumers.map((c) =>
      c.pending().then(
        (pending) => ({ durable: c.status().durable, pending }),
        () => undefined,
      ),
    ),
  );
  return answers.filter((a) => a !== undefined);
};

/** Told of every publish, for metrics. */
export interface BusObserver {
  published(subject: string, outcome: 'stored' | 'duplicate' | 'failed'): void;
}

/** A message a consumer gave up on (PoisonMessageError), kept with why, until replayed. */
export interface DeadLetter {
  /** Its place in the dead-letter store (a JetStream sequence, a table row): what replay takes. */
  id: string;
  /** The durable consumer that could not handle it. */
  consumer: string;
  /** The logical subject it was published on, where replay publishes it again. */
  subject: string;
  /** Its sequence in its original stream. */
  originalSequence: number;
  deliveries: number;
  reason: string;
  deadLetteredAt: string;
  /** The message body as text (JSON for every Tally message). */
  body: string;
  headers: Record<string, string>;
}

export interface DeadLetterStore {
  /** Oldest first; `after` is the id of the last one of the previous page. */
  list(options?: { consumer?: string; after?: string; limit?: number }): Promise<DeadLetter[]>;
  /**
   * Publishes the message again on its original subject (every consumer of that subject handles it
   * idempotently) and removes it from the store. Idempotent: replaying an id that is gone is 'not_found',
   * and a replay interrupted between the two steps publishes under the same message id when repeated.
   */
  replay(id: string): Promise<'replayed' | 'not_found'>;
}

/** A core-NATS request/reply exchange (commands and queries, not facts: nothing is stored). */
export interface Request {
  data: Uint8Array;
  headers: Record<string, string>;
}

export interface Reply {
  data: Uint8Array;
  headers?: Record<string, string>;
}

export interface MessageBus {
  readonly kind: 'jetstream' | 'postgres';
  /**
   * Answers requests on a subject, load-balanced over a queue group: core NATS on the JetStream
   * adapter; in the embedded bus, handlers registered in this process (embedded mode runs every app in one).
   */
  serveRequests(subject: string, queue: string, handler: (request: Request) => Promise<Reply>): Promise<Consumer>;
  /** Asks whoever serves the subject; fails with RequestFailedError (no responder, timeout). Nothing is stored. */
  request(
    subject: string,
    data: Uint8Array,
    options?: { timeoutMs?: number; headers?: Record<string, string> },
  ): Promise<Reply>;
  ensureStream(spec: StreamSpec): Promise<void>;
  publish(
    subject: string,
    data: Uint8Array,
    options: { msgId: string; headers?: Record<string, string> },
  ): Promise<PublishResult>;
  /** Declares the durable consumer (idempotently) and starts handing messages to the handler. */
  consume(spec: ConsumerSpec, handler: BatchHandler): Promise<Consumer>;
  /** Where poison messages went: listed and replayed by operators. */
  readonly deadLetters: DeadLetterStore;
  /** Whether the broker (or the embedded bus's database) answers right now. */
  reachable(): Promise<boolean>;
  /** The consumers this bus runs in this process. */
  consumerStatuses(): ConsumerStatus[];
  /** Each of this process's consumers with what it has pending (see Consumer.pending); one it cannot ask is left out. */
  consumerPending(): Promise<{ durable: string; pending: number }[]>;
  /** Graceful: stop taking messages, finish and ack the batch in hand, then disconnect. */
  close(): Promise<void>;
  /** What a crash does: disconnect at once, acking nothing in hand. For failure tests. */
  abort(): Promise<void>;
}

/** A request nobody answered: no responder on the subject, or none in time. Safe to retry (requests are queries or idempotent commands). */
export class RequestFailedError extends Error {
  constructor(
    readonly reason: 'no_responders' | 'timeout',
    readonly subject: string,
  ) {
    super(reason === 'no_responders' ? `nothing serves ${subject}` : `no answer on ${subject} in time`);
  }
}

export const defaultRequestTimeoutMs = 10_000;

export const deadLetterStream = 'DLQ';
/** Where a consumer's poison messages go, with `Tally-Dead-Letter-*` headers saying why. */
export const deadLetterSubject = (durable: string): string => `dlq.${durable}`;

export const consumerDefaults = {
  batchSize: 256,
  // 250 ms, 500 ms, 1 s … 10 s: an outage of any length is ridden out, and once it ends every message is
  // tried again within 10 s.
  backoff: { initialMs: 250, maxMs: 10_000 },
  ackWaitMs: 30_000,
} as const satisfies Partial<ConsumerSpec>;

export const withDefaults = (spec: ConsumerSpec): Required<ConsumerSpec> =>
  ({ ...consumerDefaults, ...spec }) as Required<ConsumerSpec>;

/**
 * Delay before delivery n+1 after delivery n failed: initialMs · 2^(n−1), capped at maxMs, minus up to a
 * fifth at random so that messages failed together by one outage do not all come back in the same instant.
 */
export const backoffFor = (spec: Required<ConsumerSpec>, deliveryCount: number): number => {
  const { initialMs, maxMs } = spec.backoff;
  const exponential = Math.min(maxMs, initialMs * 2 ** Math.min(Math.max(deliveryCount - 1, 0), 30));
  return Math.round(exponential * (1 - Math.random() * 0.2));
};

export const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

/** JSON of a message; one that does not parse, or fails the shape check, can never succeed: PoisonMessageError. */
export const decodeJson = <T>(data: Uint8Array, isValid?: (value: unknown) => value is T, what = 'message'): T => {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch (error) {
    throw new PoisonMessageError(`${what} is not JSON: ${messageOf(error)}`);
  }
  if (isValid && !isValid(value)) throw new PoisonMessageError(`${what} does not have the expected shape`);
  return value as T;
};

/** The span of a publish: the message's trace context is injected from inside it (its headers carry it). */
export const publishSpan = (subject: string, system: 'nats' | 'postgres'): SpanOptions => ({
  kind: SpanKind.PRODUCER,
  attributes: { 'messaging.system': system, 'messaging.destination.name': subject },
});
