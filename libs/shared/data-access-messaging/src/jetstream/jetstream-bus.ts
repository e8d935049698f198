import { AckPolicy, DeliverPolicy, JetStreamClient, jetstream, JetStreamManager, jetstreamManager, JsMsg, StorageType } from '@nats-io/jetstream';
import { connect, headers as natsHeaders, nanos, NatsConnection } from '@nats-io/transport-node';
import { deadLetterHeaders, InFlight, processBatch } from '../delivery-policy';
import {
  BatchHandler,
  Consumer,
  ConsumerSpec,
  deadLetterStream,
  Delivery,
  MessageBus,
  PublishResult,
  defaultRequestTimeoutMs,
  Reply,
  Request,
  RequestFailedError,
  StreamSpec,
  withDefaults,
} from '../message-bus.port';
import { Namespace } from '../namespace';
import { drainTimeoutMs, drainWithin } from '../drain';

export interface JetStreamBusOptions {
  servers: string;
  namespace: string;
  /** Window in which JetStream itself drops a re-published msgID. Default 2 minutes. */
  duplicateWindowMs?: number;
  onError?: (error: unknown, delivery?: Delivery) => void;
}

/**
 * MessageBus on NATS JetStream: file storage, publish answered after the server persisted the
 * message (PubAck), explicit acks, server-side redelivery after ack_wait.
 */
export class JetStreamBus implements MessageBus {
  readonly kind = 'jetstream';
  private readonly consumers = new Set<Consumer>();
  private readonly names: Namespace;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: JetStreamBusOptions,
  ) {
    this.names = new Namespace(options.namespace);
  }

  static async connect(options: JetStreamBusOptions): Promise<JetStreamBus> {
    const nc = await connect({ servers: options.servers.split(',').map((s) => s.trim()), name: `tally-${options.namespace}`, maxReconnectAttempts: -1 });
    const jsm = await jetstreamManager(nc);
    return new JetStreamBus(nc, jetstream(nc), jsm, options);
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    const config = {
      name: this.names.stream(spec.name),
      subjects: spec.subjects.map((s) => this.names.subject(s)),
      storage: StorageType.File,
      duplicate_window: nanos(this.options.duplicateWindowMs ?? 120_000),
    };
    try {
      await this.jsm.streams.info(config.name);
      await this.jsm.streams.update(config.name, config);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.jsm.streams.add(config).catch(async (addError) => {
        // Another process created it between our info and add: fine, it is the same stream.
        if (!String(addError).includes('already in use')) throw addError;
      });
    }
  }

  async publish(subject: string, data: Uint8Array, options: { msgId: string; headers?: Record<string, string> }): Promise<PublishResult> {
    const h = natsHeaders();
    for (const [key, value] of Object.entries(options.headers ?? {})) h.set(key, value);
    const ack = await this.js.publish(this.names.subject(subject), data, { msgID: options.msgId, headers: h });
    return { duplicate: ack.duplicate, streamSequence: ack.seq };
  }

  async consume(input: ConsumerSpec, handler: BatchHandler): Promise<Consumer> {
    const spec = withDefaults(input);
    await this.ensureStream({ name: deadLetterStream, subjects: ['dlq.>'] });
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
      await this.jsm.consumers.update(stream, spec.durable, { ack_wait: config.ack_wait, max_deliver: -1, max_ack_pending: config.max_ack_pending });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      await this.jsm.consumers.add(stream, config);
    }
    const consumer = await this.js.consumers.get(stream, spec.durable);
    const onError = this.options.onError ?? (() => undefined);
    const deadLetter = async (subject: string, delivery: Delivery, error: unknown) => {
      await this.publish(subject, delivery.data, { msgId: `dlq:${spec.durable}:${delivery.streamSequence}`, headers: deadLetterHeaders(spec, delivery, error) });
    };

    // Micro-batching: messages gather while a batch is handled; the next batch takes what has gathered
    // (up to batchSize) right away, and a lone message waits at most flushDelayMs for company.
    // (Not the iterator's getPending(): it can stay above zero with nothing left to yield.)
    const buffer: InFlight[] = [];
    let stopping = false;
    let running: Promise<void> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const drainBuffer = async () => {
      while (buffer.length > 0 && !stopping) await processBatch(spec, buffer.splice(0, spec.batchSize), handler, deadLetter, onError);
      running = undefined;
    };
    const schedule = () => {
      if (running || timer || stopping) return;
      if (buffer.length >= spec.batchSize) running = drainBuffer().catch(onError);
      else
        timer = setTimeout(() => {
          timer = undefined;
          if (!running) running = drainBuffer().catch(onError);
        }, flushDelayMs);
    };
    const messages = await consumer.consume({
      max_messages: spec.batchSize * 2,
      callback: (message) => {
        buffer.push(this.inFlight(message));
        schedule();
      },
    });

    const handle: Consumer = {
      stop: async () => {
        stopping = true;
        clearTimeout(timer);
        messages.stop();
        await running;
        // Handed to us but never handled: give them back now rather than after ack_wait.
        for (const message of buffer.splice(0)) message.settle.nak(0);
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  async request(subject: string, data: Uint8Array, options: { timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<Reply> {
    const h = natsHeaders();
    for (const [key, value] of Object.entries(options.headers ?? {})) h.set(key, value);
    try {
      const message = await this.nc.request(this.names.subject(subject), data, { timeout: options.timeoutMs ?? defaultRequestTimeoutMs, headers: h });
      const headers: Record<string, string> = {};
      for (const key of message.headers?.keys() ?? []) headers[key] = message.headers?.get(key) ?? '';
      return { data: message.data, headers };
    } catch (error) {
      const text = String((error as Error)?.message ?? error);
      if (/no responders/i.test(text) || (error as { code?: string }).code === '503') throw new RequestFailedError('no_responders', subject);
      if (/timeout/i.test(text)) throw new RequestFailedError('timeout', subject);
      throw error;
    }
  }

  async serveRequests(subject: string, queue: string, handler: (request: Request) => Promise<Reply>): Promise<Consumer> {
    const subscription = this.nc.subscribe(this.names.subject(subject), {
      queue,
      callback: (error, message) => {
        if (error) return this.options.onError?.(error);
        const headers: Record<string, string> = {};
        for (const key of message.headers?.keys() ?? []) headers[key] = message.headers?.get(key) ?? '';
        void handler({ data: message.data, headers }).then(
          (reply) => {
            const h = natsHeaders();
            for (const [key, value] of Object.entries(reply.headers ?? {})) h.set(key, value);
            message.respond(reply.data, { headers: h });
          },
          (handlerError) => this.options.onError?.(handlerError),
        );
      },
    });
    const handle: Consumer = {
      stop: async () => {
        await subscription.drain();
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  private inFlight(message: JsMsg): InFlight {
    const headers: Record<string, string> = {};
    for (const key of message.headers?.keys() ?? []) headers[key] = message.headers?.get(key) ?? '';
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
    await drainWithin(drainTimeoutMs, [...this.consumers].map((c) => c.stop()));
    if (!this.nc.isClosed()) await this.nc.drain();
  }

  async abort(): Promise<void> {
    this.consumers.clear();
    await this.nc.close();
  }
}

/** How long a message waits for others to share its batch. */
const flushDelayMs = 2;

const isNotFound = (error: unknown): boolean => /not found/i.test(String((error as Error)?.message ?? error));
