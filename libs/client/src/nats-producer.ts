import { randomUUID } from 'node:crypto';
import { connect, headers as natsHeaders, NatsConnection } from '@nats-io/transport-node';
import { Problem, TallyRefusedError, TallyUnavailableError } from './problem';

/** A usage event to send: CloudEvents 1.0 fields; `id` may be left out (the producer gives one). */
export interface UsageEventInput {
  specversion?: '1.0';
  /** Unique per source: Tally counts an event once per (source, id), however often it is sent. */
  id?: string;
  source: string;
  type: string;
  subject: string;
  /** RFC 3339; Tally fills in its receive time when absent. */
  time?: string;
  /** Measured quantities: give decimals as strings ("0.1") to keep them exact. */
  data: Record<string, unknown>;
}

export interface IngestResult {
  index: number;
  id: string | null;
  source: string | null;
  status: 'accepted' | 'duplicate' | 'rejected';
  errors?: { field: string; message: string }[];
}

export interface IngestAnswer {
  accepted: number;
  duplicate: number;
  rejected: number;
  results: IngestResult[];
}

export interface NatsProducerOptions {
  /** Tally's NATS servers. */
  servers: string | string[];
  /** Tally's namespace (its TALLY_NAMESPACE): the prefix of its subjects. Default `tally`. */
  namespace?: string;
  /** A producer API key (`tally_…`). */
  apiKey: string;
  user?: string;
  pass?: string;
  /** Attempts per send before giving up with TallyUnavailableError (default 8). */
  attempts?: number;
  /** Backoff between attempts: doubles from initialMs, never above maxMs, jittered (defaults 200 ms, 5 s). */
  backoff?: { initialMs: number; maxMs: number };
  /** How long one attempt waits for Tally's answer (default 10 s). */
  timeoutMs?: number;
}

/**
 * Sends usage to Tally's NATS intake (`<namespace>.ingestion.cmd.ingest.v1`, request/reply): an answer means
 * the events are stored durably, with each event's outcome. Every event gets its id *before* the first attempt,
 * so an attempt whose answer was lost and is sent again is counted once (a duplicate), never twice. A request
 * nobody answered (no ingestion instance yet, a timeout, NATS reconnecting) or a 503 (Tally's dependencies
 * away) is retried with capped, jittered backoff; a refusal (401, 400, 413, …) is thrown at once as
 * TallyRefusedError — sending it again would not help.
 */
export class TallyNatsProducer {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsProducerOptions,
  ) {}

  static async connect(options: NatsProducerOptions): Promise<TallyNatsProducer> {
    const nc = await connect({ servers: options.servers, user: options.user, pass: options.pass });
    return new TallyNatsProducer(nc, options);
  }

  /** The events as they will be sent: each with an id (a fresh UUID where none was given). */
  static withIds(events: readonly UsageEventInput[]): (UsageEventInput & { id: string })[] {
    return events.map((event) => ({ specversion: '1.0' as const, ...event, id: event.id ?? randomUUID() }));
  }

  async send(events: readonly UsageEventInput[]): Promise<IngestAnswer> {
    const body = new TextEncoder().encode(JSON.stringify(TallyNatsProducer.withIds(events)));
    const subject = `${this.options.namespace ?? 'tally'}.ingestion.cmd.ingest.v1`;
    const attempts = this.options.attempts ?? 8;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 5_000 };
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const h = natsHeaders();
        h.set('Authorization', `Bearer ${this.options.apiKey}`);
        const reply = await this.nc.request(subject, body, { timeout: this.options.timeoutMs ?? 10_000, headers: h });
        const status = Number(reply.headers?.get('Tally-Status') || 200);
        if (status < 400) return reply.json<IngestAnswer>();
        const problem = reply.json<Problem>();
        if (status !== 503) throw new TallyRefusedError(problem);
        lastError = new Error(`503 ${problem.title}: ${problem.detail ?? ''}`);
      } catch (error) {
        if (error instanceof TallyRefusedError) throw error;
        lastError = error; // no responders, a timeout, a connection being re-established: try again
      }
      if (attempt < attempts) {
        const exponential = Math.min(maxMs, initialMs * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.round(exponential * (1 - Math.random() * 0.2))));
      }
    }
    throw new TallyUnavailableError(attempts, lastError);
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}
