import { inSpan, Logger, outgoingHeaders, silentLogger } from '@tally/shared/util-telemetry';
import { speakingNestEnvelopes } from '../nest-envelope';
import { Pool, PoolClient } from 'pg';
import { inTransaction, openPool } from '@tally/shared/data-access-pg-client';
import { sleep } from '@tally/shared/util-core';
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
  defaultRequestTimeoutMs,
  PublishResult,
  Reply,
  Request,
  RequestFailedError,
  StreamSpec,
  withDefaults,
  publishSpan,
  BusObserver,
  pendingOf,
} from '../message-bus.port';
import { subjectMatches } from '../namespace';
import { busSchemaSql } from './bus-schema.sql';
import { drainTimeoutMs, drainWithin } from '../drain';
import { PostgresDeadLetters } from './postgres-dead-letters';

export interface PostgresBusOptions {
  connectionString: string;
  /** Schema of the bus tables, e.g. `tally_bus`. */
  schema: string;
  pollIntervalMs?: number;
  onError?: (error: unknown, delivery?: Delivery) => void;
  /** State changes worth an operator's attention: a consumer stalled or recovered. */
  log?: Logger;
  observer?: BusObserver;
}

interface Claimed {
  seq: string;
  subject: string;
  msg_id: string;
  data: Buffer;
  headers: Record<string, string>;
  delivered: number;
}

/**
 * The embedded mode's bus: no broker, the messages live in Postgres (so they survive restarts
 * like JetStream's file storage) and consumers claim them with a visibility timeout (like
 * JetStream's ack_wait). Same contract suite as the JetStream adapter. While Postgres is away,
 * publishes fail (the caller answers 503) and consumers wait, stalled, until it is back.
 */
export class PostgresBus implements MessageBus {
  readonly kind = 'postgres';
  readonly deadLetters: DeadLetterStore;
  private readonly pool: Pool;
  private readonly schema: string;
  private readonly streams = new Map<string, readonly string[]>();
  private readonly consumers = new Set<Consumer>();
  private readonly wakers = new Set<() => void>();
  private aborted = false;
  private readonly responders = new Map<string, ((request: Request) => Promise<Reply>)[]>();
  private nextResponder = 0;

  constructor(private readonly options: PostgresBusOptions) {
    this.schema = options.schema;
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    this.pool = openPool({
      connectionString: options.connectionString,
      max: 4,
      onError: (error) => options.onError?.(error),
    });
    this.deadLetters = new PostgresDeadLetters(
      this.pool,
      this.schema,
      (client, subject, data, msgId, headers) => this.insert(client, subject, data, msgId, headers),
      () => this.wakeAll(),
    );
  }

  async init(): Promise<void> {
    // A transaction-scoped lock: it cannot outlive a connection lost half-way.
    await inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.ddl`]);
      await client.query(busSchemaSql(this.schema));
    });
  }

  async reachable(): Promise<boolean> {
    return this.pool
      .query('select 1')
      .then(() => true)
      .catch(() => false);
  }

  consumerStatuses(): ConsumerStatus[] {
    return [...this.consumers].map((c) => c.status());
  }

  consumerPending(): Promise<{ durable: string; pending: number }[]> {
    return pendingOf([...this.consumers]);
  }

  /** Messages past the consumer's floor not yet acked, counted up to 100,000 (a scrape stays cheap). */
  private async pending(spec: Required<ConsumerSpec>, filter: string): Promise<number> {
    const s = this.schema;
    const { rows } = await this.pool.query<{ pending: string }>(
      `with floor as (
         select coalesce(
           (select min(seq) - 1 from "${s}".deliveries where durable = $2 and not acked),
           (select max(seq) from "${s}".deliveries where durable = $2), 0) as seq
       )
       select count(*)::text as pending from (
         select 1 from "${s}".messages m
           left join "${s}".deliveries d on d.durable = $2 and d.seq = m.seq
          where m.stream = $1 and m.seq > (select seq from floor) and m.subject ~ $3 and (d.seq is null or not d.acked)
          limit 100000) waiting`,
      [spec.stream, spec.durable, filter],
    );
    return Number(rows[0].pending);
  }

  async ensureStream(spec: StreamSpec): Promise<void> {
    await this.pool.query(
      `insert into "${this.schema}".streams (name, subjects) values ($1, $2) on conflict (name) do update set subjects = excluded.subjects`,
      [spec.name, spec.subjects],
    );
    this.streams.set(spec.name, spec.subjects);
  }

  async publish(
    subject: string,
    data: Uint8Array,
    options: { msgId: string; headers?: Record<string, string> },
  ): Promise<PublishResult> {
    const result = await inSpan(`publish ${subject}`, publishSpan(subject, 'postgres'), () =>
      inTransaction(this.pool, (client) =>
        this.insert(client, subject, data, options.msgId, { ...outgoingHeaders(), ...options.headers }),
      ),
    ).catch((error: unknown) => {
      this.options.observer?.published(subject, 'failed');
      throw error;
    });
    this.options.observer?.published(subject, result.duplicate ? 'duplicate' : 'stored');
    this.wakeAll();
    return result;
  }

  /** Stores one message inside the caller's transaction, under the publish lock (sequences commit in order). */
  private async insert(
    client: PoolClient,
    subject: string,
    data: Uint8Array,
    msgId: string,
    headers?: Record<string, string>,
  ): Promise<PublishResult> {
    const stream = await this.streamFor(subject, client);
    await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${this.schema}.publish`]);
    const inserted = await client.query<{ seq: string }>(
      `insert into "${this.schema}".messages (stream, subject, msg_id, data, headers) values ($1, $2, $3, $4, $5)
       on conflict (stream, msg_id) do nothing returning seq`,
      [stream, subject, msgId, Buffer.from(data), JSON.stringify({ ...headers, 'Nats-Msg-Id': msgId })],
    );
    const existing = inserted.rows[0]
      ? undefined
      : await client.query<{ seq: string }>(
          `select seq from "${this.schema}".messages where stream = $1 and msg_id = $2`,
          [stream, msgId],
        );
    return { duplicate: !inserted.rows[0], streamSequence: Number((inserted.rows[0] ?? existing?.rows[0])?.seq) };
  }

  private async streamFor(subject: string, client: PoolClient): Promise<string> {
    const find = () =>
      [...this.streams].find(([, subjects]) => subjects.some((filter) => subjectMatches(filter, subject)))?.[0];
    if (!find()) {
      const { rows } = await client.query<{ name: string; subjects: string[] }>(
        `select name, subjects from "${this.schema}".streams`,
      );
      for (const row of rows) this.streams.set(row.name, row.subjects);
    }
    const stream = find();
    // JetStream answers "no responders" here; the caller must not believe the message is stored.
    if (!stream) throw new Error(`no stream captures subject ${subject}`);
    return stream;
  }

  async consume(input: ConsumerSpec, handler: BatchHandler): Promise<Consumer> {
    const spec = withDefaults(input);
    const filter = natsFilterToRegex(spec.filterSubject);
    const stopping = new AbortController();
    const health = new ConsumerHealth(spec.durable, spec.backoff.maxMs + 2_000, this.options.log ?? silentLogger);
    const deadLetter = async (subject: string, delivery: Delivery, error: unknown) => {
      await this.publish(subject, delivery.data, {
        msgId: `dlq:${spec.durable}:${delivery.streamSequence}`,
        headers: deadLetterHeaders(spec, delivery, error),
      });
    };

    const loop = (async () => {
      let declared = false;
      let failures = 0;
      while (!stopping.signal.aborted) {
        try {
          if (!declared) {
            await this.ensureStream({ name: deadLetterStream, subjects: ['dlq.>'] });
            const skipped = await this.reopenSkipped(spec, filter);
            if (skipped > 0)
              (this.options.log ?? silentLogger).warn(
                { consumer: spec.durable, messages: skipped },
                'messages an earlier version skipped for this consumer: delivered now',
              );
            declared = true;
          }
          const claimed = await this.claim(spec, filter);
          health.reachable();
          failures = 0;
          if (this.aborted) return;
          if (claimed.length === 0) {
            await this.idle(stopping.signal);
            continue;
          }
          await processBatch(spec, claimed, handler, deadLetter, health);
        } catch (error) {
          if (this.aborted) return;
          // The database is away (or the claim failed): wait, longer each time, and claim again.
          health.unreachable(error);
          await sleep(Math.min(spec.backoff.maxMs, 250 * 2 ** Math.min(failures++, 6)), stopping.signal);
        }
      }
    })();

    const handle: Consumer = {
      status: () => health.status(),
      pending: () => this.pending(spec, filter),
      stop: async () => {
        stopping.abort();
        this.wakeAll();
        await loop;
        health.stop();
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  /**
   * Takes the next visible messages past this consumer's floor and hides them for ackWait. One claim at a time per
   * durable (whatever process makes it), under a lock of that durable's own, and no lock on the messages: every
   * durable reads the one messages table, and a claim that locked the rows it took (`for update of m skip locked`)
   * made another durable claiming at the same moment skip them, take later ones and move its floor past what it
   * skipped — for good (postgres-bus.int.spec.ts, "two durables on one stream"). The claim is a statement of its own
   * after the lock, so it sees what the durable's previous claim committed.
   */
  private async claim(spec: Required<ConsumerSpec>, filter: string): Promise<InFlight[]> {
    const s = this.schema;
    const rows = await inTransaction(this.pool, async (client) => {
      // A process that vanishes between claim and commit must not hold the durable's lock until TCP notices (hours).
      await client.query(
        `select set_config('idle_in_transaction_session_timeout', '60s', true), pg_advisory_xact_lock(hashtext($1))`,
        [`${s}.claim.${spec.durable}`],
      );
      return (
        await client.query<Claimed>(this.claimSql, [spec.stream, spec.durable, filter, spec.batchSize, spec.ackWaitMs])
      ).rows;
    });
    return rows.map((row) => this.inFlight(spec, row));
  }

  /**
   * Messages this durable's floor has passed with no delivery of its own: what claims that skipped rows another
   * durable held left behind (before 2026-12-05, see claim). Every such message is made claimable again — a delivery
   * row not yet delivered, visible now — so the floor drops below it and the handler gets it (handlers are
   * idempotent: the ledger stores an event id once). Messages are kept, so nothing skipped is beyond repair. Once per
   * consumer start, under the durable's claim lock; answers how many.
   */
  private async reopenSkipped(spec: Required<ConsumerSpec>, filter: string): Promise<number> {
    const s = this.schema;
    return inTransaction(this.pool, async (client) => {
      await client.query('select pg_advisory_xact_lock(hashtext($1))', [`${s}.claim.${spec.durable}`]);
      const { rowCount } = await client.query(
        `insert into "${s}".deliveries (durable, seq, delivered, visible_at)
         select $2, m.seq, 0, clock_timestamp() from "${s}".messages m
          where m.stream = $1 and m.subject ~ $3
            and m.seq < (select max(seq) from "${s}".deliveries where durable = $2)
            and not exists (select 1 from "${s}".deliveries d where d.durable = $2 and d.seq = m.seq)
         on conflict (durable, seq) do nothing`,
        [spec.stream, spec.durable, filter],
      );
      return rowCount ?? 0;
    });
  }

  private get claimSql(): string {
    const s = this.schema;
    return `with floor as (
         select coalesce(
           (select min(seq) - 1 from "${s}".deliveries where durable = $2 and not acked),
           (select max(seq) from "${s}".deliveries where durable = $2), 0) as seq
       ), candidates as (
         select m.seq from "${s}".messages m
           left join "${s}".deliveries d on d.durable = $2 and d.seq = m.seq
          where m.stream = $1 and m.seq > (select seq from floor) and m.subject ~ $3
            and (d.seq is null or (not d.acked and d.visible_at <= clock_timestamp()))
          order by m.seq limit $4
       ), claimed as (
         insert into "${s}".deliveries (durable, seq, delivered, visible_at)
         select $2, seq, 1, clock_timestamp() + make_interval(secs => $5::double precision / 1000) from candidates
         on conflict (durable, seq) do update set delivered = "${s}".deliveries.delivered + 1, visible_at = excluded.visible_at
           where not "${s}".deliveries.acked -- acked by another process since the candidates were read: not again
         returning seq, delivered
       )
       select m.seq, m.subject, m.msg_id, m.data, m.headers, c.delivered
         from claimed c join "${s}".messages m on m.seq = c.seq order by m.seq`;
  }

  private inFlight(spec: Required<ConsumerSpec>, row: Claimed): InFlight {
    const settle = (sql: string, ...params: unknown[]) =>
      this.pool.query(`update "${this.schema}".deliveries set ${sql} where durable = $1 and seq = $2`, [
        spec.durable,
        row.seq,
        ...params,
      ]);
    return {
      delivery: {
        subject: row.subject,
        data: new Uint8Array(row.data),
        headers: row.headers,
        msgId: row.msg_id,
        deliveryCount: row.delivered,
        streamSequence: Number(row.seq),
      },
      settle: {
        ack: () => settle('acked = true').then(() => undefined),
        nak: (delayMs) =>
          settle(`visible_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000)`, delayMs).then(
            () => this.wakeSoon(delayMs),
          ),
        term: () => settle('acked = true').then(() => undefined),
      },
    };
  }

  private wakeSoon(delayMs: number): void {
    setTimeout(() => this.wakeAll(), delayMs + 5).unref();
  }

  private idle(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, this.options.pollIntervalMs ?? 250);
      this.wakers.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** In-process: embedded mode runs every app in one process, so the "network" is a map of handlers. */
  async serveRequests(
    subject: string,
    _queue: string,
    handler: (request: Request) => Promise<Reply>,
  ): Promise<Consumer> {
    const answer = speakingNestEnvelopes(handler);
    this.responders.set(subject, [...(this.responders.get(subject) ?? []), answer]);
    return {
      status: () => ({
        durable: `responder ${subject}`,
        state: 'running',
        stalledSince: null,
        failingMessages: 0,
        lastError: null,
        deadLettered: 0,
        acked: 0,
        failed: 0,
        redelivered: 0,
      }),
      pending: async () => 0,
      stop: async () => {
        this.responders.set(
          subject,
          (this.responders.get(subject) ?? []).filter((h) => h !== answer),
        );
      },
    };
  }

  async request(
    subject: string,
    data: Uint8Array,
    options: { timeoutMs?: number; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const handlers = this.responders.get(subject) ?? [];
    if (handlers.length === 0 || this.aborted) throw new RequestFailedError('no_responders', subject);
    const handler = handlers[this.nextResponder++ % handlers.length];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RequestFailedError('timeout', subject)),
        options.timeoutMs ?? defaultRequestTimeoutMs,
      );
    });
    try {
      return await Promise.race([handler({ data, headers: { ...outgoingHeaders(), ...options.headers } }), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private wakeAll(): void {
    for (const wake of [...this.wakers]) wake();
  }

  async close(): Promise<void> {
    if (this.aborted || this.pool.ended) return;
    await drainWithin(
      drainTimeoutMs,
      [...this.consumers].map((c) => c.stop()),
    );
    await this.pool.end();
  }

  async abort(): Promise<void> {
    this.aborted = true;
    this.consumers.clear();
    this.wakeAll();
    await this.pool.end().catch(() => undefined);
  }
}

/** `a.*.c` / `a.>` as a Postgres regular expression over the whole subject. */
export const natsFilterToRegex = (filter: string): string =>
  `^${filter
    .split('.')
    .map((token) => (token === '*' ? '[^.]+' : token === '>' ? '.+' : token.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')))
    .join('\\.')}$`;
