import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { EventStatusTables } from '@tally/ingestion/data-access-intake';
import { UsageEventV1 } from '@tally/contracts/usage';
import { openClient } from '@tally/shared/data-access-pg-client';
import { Log, LOG, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { messageOf } from '@tally/shared/util-core';
import { ledgerIdOf } from './ledger-ids';
import { EVENT_STATUS_TABLES } from './tokens';

/** Lookups sent or queued at once in one process; past it a request is answered without one. */
export const maxLookupsInFlight = 2;
/**
 * How much longer than JetStream's acknowledgement a request waits for its lookup when it is the only request the
 * process is handling. While it handles others, a request waits for nothing: a wait costs it a turn of an event loop
 * busy with the others' parsing (≈10 ms at 60,000 events/s on two cores), and intake's throughput with it.
 */
export const lookupGraceMs = 100;
/** A lookup stuck on a lock (a status-table rebuild swapping in) frees its connection after this long. */
const statementTimeoutMs = 500;
/** After a failed connect, lookups are not made (answered `accepted`) for this long before the next try. */
const reconnectDelayMs = 1_000;

const none: ReadonlySet<number> = new Set();

/** A lookup under way: what it found if it is back, or once it is back within a bound. */
export interface PendingLookup {
  /**
   * The indexes (in the request) of events Tally had before; nothing if the lookup is not back within `graceMs`
   * (0: only what it found already, without waiting).
   */
  found(graceMs: number): Promise<ReadonlySet<number>>;
}

const notMade: PendingLookup = { found: () => Promise.resolve(none) };

/**
 * Which events of a request Tally already had from an earlier request — so that intake can answer them
 * `duplicate` — from the status table (each event accepted into the stream or recorded in the ledger, by ledger
 * id): one indexed query per request.
 *
 * Sent the moment the request's events are validated, on a connection of its own — so it never waits for (or
 * takes) a connection of the app's pool, which API-key checks and the status consumer need — and so it travels
 * while intake encodes the events and JetStream stores them: when JetStream acknowledges, the answer is usually back.
 *
 * Best effort, and never a reason to refuse or lose an event: a lookup that fails (Postgres away, the table locked
 * or gone), is not back in time, or is not made (its connection down, or too many in flight) finds nothing, and those
 * events are answered `accepted` — they are published all the same, and the ledger's exact dedup counts them once.
 */
@Injectable()
export class EarlierCopiesLookup implements OnApplicationBootstrap, OnApplicationShutdown {
  private client?: Client;
  private connecting?: Promise<void>;
  private retryAt = 0;
  private inFlight = 0;
  private failing = false;
  private closed = false;

  constructor(
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(EVENT_STATUS_TABLES) private readonly tables: EventStatusTables,
    @Inject(LOG) private readonly log: Log,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.connecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  /** Sends the lookup for these validated events of a request received at `receivedAt`. */
  start(tenant: string, receivedAt: Date, events: readonly { index: number; event: UsageEventV1 }[]): PendingLookup {
    const client = this.client;
    if (!client) {
      void this.connect();
      return notMade;
    }
    if (events.length === 0 || this.inFlight >= maxLookupsInFlight) return notMade;
    this.inFlight++;
    const indexes = new Map(events.map(({ index, event }) => [ledgerIdOf(tenant, event.source, event.id), index]));
    let found: ReadonlySet<number> | undefined;
    // pg writes the query to the socket within this call when the connection is idle: it is on its way before
    // intake encodes and publishes. Prepared once per connection (named): Postgres plans it once, not per request.
    const prepared = (text: string, values: unknown[]) =>
      client.query({ name: 'ingestion-known-before', text, values }).then((r) => r.rows);
    const answer = this.tables
      .knownBefore({ query: prepared }, [...indexes.keys()], receivedAt.toISOString())
      .then(
        (usageIds) => {
          this.answering();
          return (found = new Set(usageIds.map((id) => indexes.get(id) as number)));
        },
        (error) => {
          this.failed(error);
          return (found = none);
        },
      )
      .finally(() => this.inFlight--);
    return {
      found: (graceMs) => (found || graceMs <= 0 ? Promise.resolve(found ?? none) : foundWithin(answer, graceMs)),
    };
  }

  /** One connection for lookups, (re)opened in the background: a lookup never waits for a connect. */
  private connect(): Promise<void> {
    if (this.closed || this.client) return Promise.resolve();
    if (this.connecting || Date.now() < this.retryAt) return this.connecting ?? Promise.resolve();
    let opened: Client | undefined;
    const lost = (error: unknown) => {
      if (this.client === opened) this.client = undefined;
      void opened?.end().catch(() => undefined);
      this.failed(error);
    };
    this.connecting = openClient(this.runtime.connectionString, lost)
      .then(async (client) => {
        opened = client;
        await client.query(`set statement_timeout = ${statementTimeoutMs}`);
        // The lookup is planned once per connection (below), and the status table starts empty: a plan made while
        // it was small — a sequential scan comparing every row with every id — would stay as it grows to millions.
        // This connection only ever probes the primary key.
        await client.query('set enable_seqscan = off');
        if (this.closed) await client.end();
        else this.client = client;
      })
      .catch((error) => {
        void opened?.end().catch(() => undefined);
        this.retryAt = Date.now() + reconnectDelayMs;
        this.failed(error);
      })
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  // Logged once when lookups start failing and once when they answer again, not once per request.
  private failed(error: unknown): void {
    if (!this.failing)
      this.log.warn(
        { reason: messageOf(error) },
        'duplicate lookup failing: events re-sent in a later request are answered accepted',
      );
    this.failing = true;
  }

  private answering(): void {
    if (this.failing) this.log.info('duplicate lookup answers again: re-sent events are answered duplicate');
    this.failing = false;
  }
}

/** What the lookup found if it answers within `ms`, else nothing (it goes on, and is ignored). */
const foundWithin = async (lookup: Promise<ReadonlySet<number>>, ms: number): Promise<ReadonlySet<number>> => {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<ReadonlySet<number>>((resolve) => (timer = setTimeout(() => resolve(none), ms)));
  try {
    return await Promise.race([lookup, late]);
  } finally {
    clearTimeout(timer);
  }
};
