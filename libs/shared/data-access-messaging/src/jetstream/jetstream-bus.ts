import {
  continueFrom,
  inSpan,
  Logger,
  outgoingHeaders,
  silentLogger,
  telemetryOfHeaders,
} from '@tally/shared/util-telemetry';
import { speakingNestEnvelopes } from '../nest-envelope';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamClient,
  jetstream,
  JetStreamManager,
  jetstreamManager,
  JsMsg,
  StorageType,
} from '@nats-io/jetstream';
import { connect, Msg, nanos, NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { fromNatsHeaders, toNatsHeaders } from './jetstream-headers';
import { ConsumerHealth, deadLetterHeaders, InFlight, processBatch } from '../delivery-policy';
import {
  BatchHandler,
  Consumer,
  ConsumerSpec,
  ConsumerStatus,
  deadLetterStream,
  DeadLetterStore,
  Delivery,
  MessageBus,
  PublishResult,
  defaultRequestTimeoutMs,
  Reply,
  Request,
  RequestFailedError,
  StreamSpec,
  withDefaults,
  publishSpan,
  BusObserver,
  pendingOf,
  encodeJson,
} from '../message-bus.port';
import { Namespace } from '../namespace';
import { drainTimeoutMs, drainWithin } from '../drain';
import { JetStreamDeadLetters } from './jetstream-dead-letters';
import { messageOf, sleep } from '@tally/shared/util-core';

export interface JetStreamBusOptions {
  servers: string;
  namespace: string;
  /** Window in which JetStream itself drops a re-published msgID. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Copies of every stream kept by a JetStream cluster (1 on a lone server; 3 rides out the loss of a node). */
  replicas?: number;
  /** NATS user and password (per-app credentials), when the server asks for them. */
  user?: string;
  pass?: string;
  /** TLS: the CA to verify servers with, and a client certificate when they ask for one. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  onError?: (error: unknown, delivery?: Delivery) => void;
  /** State changes worth an operator's attention: disconnected, reconnected, a consumer stalled or recovered. */
  log?: Logger;
  observer?: BusObserver;
}

/**
 * MessageBus on NATS JetStream: file storage, publish answered after the server persisted the
 * message (PubAck), explicit acks, server-side redelivery after ack_wait. The connection reconnects
 * forever; every consumer is supervised, so it comes back by itself after the server, the cluster, or
 * the consumer itself was gone.
 */
/** Heartbeat-miss reports in a row (each ≈ 2 missed heartbeats of a 5 s pull) before a consumer is taken up afresh. */
const restartAfterMissedHeartbeats = 3;

export class JetStreamBus implements MessageBus {
  readonly kind = 'jetstream';
  readonly deadLetters: DeadLetterStore;
  private readonly consumers = new Set<Consumer>();
  private readonly names: Namespace;
  private readonly streams = new Map<string, StreamSpec>();
  private connected = true;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: JetStreamBusOptions,
  ) {
    this.names = new Namespace(options.namespace);
    this.deadLetters = new JetStreamDeadLetters(jsm, js, this.names, () => this.ensureStream(deadLetterStreamSpec));
    void this.watchConnection();
  }

  static async connect(options: JetStreamBusOptions): Promise<JetStreamBus> {
    const nc = await connect({
      servers: options.servers.split(',').map((s) => s.trim()),
      name: `tally-${options.namespace}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      user: options.user,
      pass: options.pass,
      ...(options.tls ? { tls: options.tls } : {}),
    });
    const jsm = await jetstreamManager(nc);
    return new JetStreamBus(nc, jetstream(nc), jsm, options);
  }

  private get log(): Logger {
    return this.options.log ?? silentLogger;
  }

  private async watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.log.warn({ server: status.server }, 'NATS connection lost; reconnecting');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.log.info({ server: status.server }, 'NATS reconnected');
      }
    }
  }

  async reachable(): Promise<boolean> {
    if (this.nc.isClosed() || !this.connected) return false;
    // JetStream, not just the connection: a cluster without a quorum accepts connections but stores nothing.
    return this.jsm
      .getAccountInfo()
      .then(() => true)
      .catch(() => false);
  }

  consumerStatuses(): ConsumerStatus[] {
    return [...this.consumers].map((c) => c.status());
  }

  consumerPending(): Promise<{ durable: string; pending: number }[]> {
    return pendingOf([...this.consumers]);
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    this.streams.set(spec.name, spec);
    const config = {
      name: this.names.stream(spec.name),
      subjects: spec.subjects.map((s) => this.names.subject(s)),
      storage: StorageType.File,
      duplicate_window: nanos(this.options.duplicateWindowMs ?? 120_000),
      num_replicas: this.options.replicas ?? 1,
      // Dead letters are read one by one, by subject (direct get), when an operator lists them.
      ...(spec.name === deadLetterStream ? { allow_direct: true } : {}),
    };
    try {
      const { config: current } = await this.jsm.streams.info(config.name);
      // Unchanged: no update, so an app that only consumes a stream needs no right to change it.
      const same =
        current.subjects?.join() === config.subjects.join() &&
        current.num_replicas === config.num_replicas &&
        current.duplicate_window === config.duplicate_window &&
        Boolean(current.allow_direct) === Boolean(config.allow_direct);
      if (!same) await this.jsm.streams.update(config.name, config);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.jsm.streams.add(config).catch(async (addError) => {
        // Another process created it between our info and add: fine, it is the same stream.
        if (!String(addError).includes('already in use')) throw addError;
      });
    }
  }

  async publish(
    subject: string,
    data: Uint8Array,
    options: { msgId: string; headers?: Record<string, string> },
  ): Promise<PublishResult> {
    return inSpan(`publish ${subject}`, publishSpan(subject, 'nats'), async () => {
      const ack = await this.js
        .publish(this.names.subject(subject), data, {
          msgID: options.msgId,
          headers: toNatsHeaders({ ...outgoingHeaders(), ...options.headers }),
        })
        .catch((error: unknown) => {
          this.options.observer?.published(subject, 'failed');
          throw error;
        });
      this.options.observer?.published(subject, ack.duplicate ? 'duplicate' : 'stored');
      return { duplicate: ack.duplicate, streamSequence: ack.seq };
    });
  }

  async consume(input: ConsumerSpec, handler: BatchHandler): Promise<Consumer> {
    const spec = withDefaults(input);
    const health = new ConsumerHealth(spec.durable, spec.backoff.maxMs + 2_000, this.log);
    const deadLetter = async (subject: string, delivery: Delivery, error: unknown) => {
      await this.publish(subject, delivery.data, {
        msgId: `dlq:${spec.durable}:${delivery.streamSequence}`,
        headers: deadLetterHeaders(spec, delivery, error),
      });
    };

    // Micro-batching: messages gather while a batch is handled; the next batch takes what has gathered
    // (up to batchSize) right away, and a lone message waits at most flushDelayMs for company.
    // (Not the iterator's getPending(): it can stay above zero with nothing left to yield.)
    const buffer: InFlight[] = [];
    const stopping = new AbortController();
    let running: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const drainBuffer = async () => {
      try {
        while (buffer.length > 0 && !stopping.signal.aborted)
          await processBatch(spec, buffer.splice(0, spec.batchSize), handler, deadLetter, health);
      } catch (error) {
        // Settling failed (NATS away while a poison message was being dead-lettered): what was taken out is
        // redelivered after ack_wait; what is still buffered is tried again shortly.
        health.unreachable(error);
        setTimeout(schedule, 1_000);
      } finally {
        running = undefined;
      }
    };
    const schedule = (): void => {
      if (running || timer || stopping.signal.aborted || buffer.length === 0) return;
      if (buffer.length >= spec.batchSize) running = drainBuffer();
      else
        timer = setTimeout(() => {
          timer = undefined;
          if (!running) running = drainBuffer();
        }, flushDelayMs);
    };

    // Supervision: (re)declare the consumer and consume; when that fails or the consumer disappears
    // (a cluster that lost it, an operator who deleted it), wait and do it again, for as long as it takes.
    let messages: Awaited<ReturnType<Awaited<ReturnType<JetStreamClient['consumers']['get']>>['consume']>> | undefined;
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    const supervise = async () => {
      for (let attempt = 0; !stopping.signal.aborted; attempt++) {
        try {
          const consumer = await this.declareConsumer(spec);
          messages = await consumer.consume({
            max_messages: spec.batchSize * 2,
            // Pull requests live 5 s (heartbeats every 2.5 s): a pull lost with a node that died is noticed and
            // re-issued to the new consumer leader within seconds, not the default 30.
            expires: 5_000,
            callback: (message) => {
              health.reachable();
              buffer.push(this.inFlight(message));
              schedule();
            },
          });
          health.reachable();
          attempt = 0;
          firstAttempt();
          void this.watchConsumer(messages, health);
          await messages.closed();
        } catch (error) {
          health.unreachable(error);
          firstAttempt();
        }
        if (!stopping.signal.aborted)
          await sleep(Math.min(spec.backoff.maxMs, 500 * 2 ** Math.min(attempt, 5)), stopping.signal);
      }
    };
    const supervising = supervise();
    await attempted;

    const handle: Consumer = {
      status: () => health.status(),
      pending: async () => {
        const info = await this.jsm.consumers.info(this.names.stream(spec.stream), spec.durable);
        return info.num_pending + info.num_ack_pending;
      },
      stop: async () => {
        stopping.abort();
        clearTimeout(timer);
        await messages?.close().catch(() => undefined);
        await supervising;
        await running;
        // Handed to us but never handled: give them back now rather than after ack_wait.
        for (const message of buffer.splice(0)) message.settle.nak(0);
        health.stop();
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  private async declareConsumer(spec: Required<ConsumerSpec>) {
    await this.ensureStream(deadLetterStreamSpec);
    const known = this.streams.get(spec.stream);
    if (known) await this.ensureStream(known);
    const stream = this.names.stream(spec.stream);
    const config = {
      durable_name: spec.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.names.subject(spec.filterSubject),
      ack_wait: nanos(spec.ackWaitMs),
      // Redelivery is unlimited on the server: the dead-letter decision is ours, taken only after
      // the message has been copied to the dead-letter stream, so a crash never loses it.
      max_deliver: -1,
      max_ack_pending: spec.batchSize * 4,
    };
    try {
      await this.jsm.consumers.info(stream, spec.durable);
      await this.jsm.consumers.update(stream, spec.durable, {
        ack_wait: config.ack_wait,
        max_deliver: -1,
        max_ack_pending: config.max_ack_pending,
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.jsm.consumers.add(stream, config);
    }
    return this.js.consumers.get(stream, spec.durable);
  }

  /** The client retries pulls by itself; a consumer or stream that is gone must be declared again: end this round. */
  private async watchConsumer(
    messages: { status(): AsyncIterable<{ type: string }>; close(): Promise<void | Error> },
    health: ConsumerHealth,
  ): Promise<void> {
    // Missed heartbeats in a row: the client re-pulls by itself, but after a server restart a pull can stay
    // lost; past this many, the round ends and supervision declares the consumer and consumes afresh.
    let missed = 0;
    for await (const event of messages.status()) {
      if (
        event.type === 'consumer_not_found' ||
        event.type === 'stream_not_found' ||
        event.type === 'consumer_deleted' ||
        (event.type === 'heartbeats_missed' && ++missed >= restartAfterMissedHeartbeats)
      ) {
        health.unreachable(new Error(`JetStream: ${event.type.replace(/_/g, ' ')}`));
        await messages.close().catch(() => undefined);
        return;
      }
      if (event.type === 'heartbeats_missed' || event.type === 'no_responders')
        health.unreachable(new Error(`JetStream: ${event.type.replace(/_/g, ' ')}`));
      else if (event.type === 'heartbeat') {
        missed = 0;
        health.reachable();
      }
    }
  }

  async request(
    subject: string,
    data: Uint8Array,
    options: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    try {
      const message = await this.nc.request(this.names.subject(subject), data, {
        timeout: options.timeoutMs ?? defaultRequestTimeoutMs,
        headers: toNatsHeaders({ ...outgoingHeaders(), ...options.headers }),
      });
      return { data: message.data, headers: fromNatsHeaders(message.headers) };
    } catch (error) {
      const text = messageOf(error);
      if (/no responders/i.test(text) || (error as { code?: string }).code === '503')
        throw new RequestFailedError('no_responders', subject);
      if (/timeout|disconnect|closed/i.test(text)) throw new RequestFailedError('timeout', subject);
      throw error;
    }
  }

  async serveRequests(
    subject: string,
    queue: string,
    handler: (request: Request) => Promise<Reply>,
  ): Promise<Consumer> {
    const health = new ConsumerHealth(`responder ${subject}`, 60_000, this.log);
    const answer = speakingNestEnvelopes(handler);
    // Core NATS subscriptions are re-sent by the client on every reconnect: nothing to supervise.
    const subscription = this.nc.subscribe(this.names.subject(subject), {
      queue,
      callback: (error, message) => {
        if (error) return this.options.onError?.(error);
        const headers = fromNatsHeaders(message.headers);
        // The asker's chain continues here: its correlation id, its trace.
        void continueFrom(headers, telemetryOfHeaders(headers, randomUUID()), { name: `serve ${subject}` }, () =>
          answer({ data: message.data, headers }),
        )
          .then((reply) => this.respond(message, reply))
          .catch((handlerError: unknown) => this.options.onError?.(handlerError));
      },
    });
    // The server has the subscription before this resolves: a request sent next finds its responder.
    await this.nc.flush().catch(() => undefined);
    const handle: Consumer = {
      status: () => health.status(),
      // Core NATS keeps nothing: a request nobody takes at once is answered no_responders.
      pending: async () => 0,
      stop: async () => {
        await subscription.drain().catch(() => undefined);
        health.stop();
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  /**
   * Sends an answer; one larger than the server's max_payload (or a connection closing) throws synchronously:
   * the asker then gets a problem saying so rather than a timeout, and the process lives on.
   */
  private respond(message: Msg, reply: Reply): void {
    try {
      message.respond(reply.data, { headers: toNatsHeaders(reply.headers) });
    } catch (error) {
      const maxPayload = this.nc.info?.max_payload ?? 1024 * 1024;
      const tooLarge = reply.data.length > maxPayload;
      message.respond(
        encodeJson({
          type: 'https://tally.dev/problems/answer-too-large',
          title: tooLarge ? 'Answer too large' : 'Answer not sent',
          status: tooLarge ? 413 : 503,
          detail: tooLarge
            ? `the answer is ${reply.data.length} bytes, more than NATS carries (${maxPayload}): ask for less (a shorter range, a larger window, fewer groups)`
            : messageOf(error),
        }),
        {
          headers: toNatsHeaders({
            'Content-Type': 'application/problem+json',
            'Tally-Status': tooLarge ? '413' : '503',
          }),
        },
      );
    }
  }

  private inFlight(message: JsMsg): InFlight {
    const headers = fromNatsHeaders(message.headers);
    return {
      delivery: {
        subject: this.names.logicalSubject(message.subject),
        data: message.data,
        headers,
        msgId: headers['Nats-Msg-Id'],
        deliveryCount: message.info.deliveryCount,
        streamSequence: message.seq,
      },
      settle: { ack: () => message.ack(), nak: (delay) => message.nak(delay), term: () => message.term() },
    };
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await drainWithin(
      drainTimeoutMs,
      [...this.consumers].map((c) => c.stop()),
    );
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => this.nc.close());
  }

  async abort(): Promise<void> {
    this.consumers.clear();
    await this.nc.close();
  }
}

const deadLetterStreamSpec: StreamSpec = { name: deadLetterStream, subjects: ['dlq.>'] };

/** How long a message waits for others to share its batch. */
const flushDelayMs = 2;

const isNotFound = (error: unknown): boolean => /not found/i.test(messageOf(error));
