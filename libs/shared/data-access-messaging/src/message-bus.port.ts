/**
 * Durable messaging for billing facts. Two adapters: NATS JetStream (distributed) and a
 * Postgres-backed bus (embedded mode, no broker). One contract suite holds both to:
 * publish is acknowledged only once stored; a message id published twice is stored once;
 * a consumer acks only after its handler resolved (its transaction committed); failures are
 * retried with backoff and dead-lettered after maxDeliver attempts; a crashed consumer's
 * messages are redelivered after ackWait; close() drains what is in hand.
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
  /** Deliveries before a message is dead-lettered. */
  maxDeliver?: number;
  /** Redelivery delay after the n-th failure (the last entry repeats). */
  backoffMs?: readonly number[];
  /** Unacknowledged messages (a crashed handler) are redelivered after this long. */
  ackWaitMs?: number;
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
  request(subject: string, data: Uint8Array, options?: { timeoutMs?: number; headers?: Record<string, string> }): Promise<Reply>;
  ensureStream(spec: StreamSpec): Promise<void>;
  publish(subject: string, data: Uint8Array, options: { msgId: string; headers?: Record<string, string> }): Promise<PublishResult>;
  /** Declares the durable consumer (idempotently) and starts handing messages to the handler. */
  consume(spec: ConsumerSpec, handler: BatchHandler): Promise<Consumer>;
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
  maxDeliver: 5,
  backoffMs: [250, 1_000, 5_000, 15_000],
  ackWaitMs: 30_000,
} as const satisfies Partial<ConsumerSpec>;

export const withDefaults = (spec: ConsumerSpec): Required<ConsumerSpec> => ({ ...consumerDefaults, ...spec }) as Required<ConsumerSpec>;

export const backoffFor = (spec: Required<ConsumerSpec>, deliveryCount: number): number =>
  spec.backoffMs[Math.min(deliveryCount - 1, spec.backoffMs.length - 1)] ?? 1_000;

export const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
export const decodeJson = <T>(data: Uint8Array): T => JSON.parse(new TextDecoder().decode(data)) as T;
