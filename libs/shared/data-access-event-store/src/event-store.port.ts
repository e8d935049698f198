/**
 * The ledger's port. Two adapters implement it (Postgres, KurrentDB) and one contract suite
 * (testing/event-store.contract.ts) holds both to the same behaviour.
 *
 * Semantics shared by every adapter:
 * - Streams are append-only; revisions count from 0. Events carry a caller-chosen UUID id.
 * - Re-appending an event id that is already stored is a no-op for that event (idempotent append);
 *   if every event of an append is already stored the append succeeds without checking the revision.
 * - `expectedRevision` is optimistic concurrency: a mismatch throws WrongExpectedRevisionError and writes nothing.
 * - `readAll` is ordered by global position, which only grows; a subscription resumes strictly after a checkpoint.
 */
import type { LedgerEvent } from '@tally/shared/util-core';

export type JsonObject = { [key: string]: unknown };

export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export interface NewEvent {
  id: string;
  type: string;
  data: JsonObject;
  metadata?: JsonObject;
}

/** Where and when an event was stored. */
export interface Recorded {
  id: string;
  metadata: JsonObject;
  streamName: string;
  streamRevision: bigint;
  globalPosition: bigint;
  recordedAt: Date;
}

/**
 * An event as stored. Reads return it untyped (`type: string`, JSON data); a reader narrows it to its
 * contract's union with that union's guard (`isUsageLedgerEvent(event)`), and from then on `event.type`
 * discriminates and `event.data` is the contract's.
 */
export type RecordedEvent<E extends LedgerEvent = LedgerEvent<string, JsonObject>> = E & Recorded;

export interface StreamAppend {
  stream: string;
  events: readonly NewEvent[];
  expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the stream's last event after the append (what to pass as expectedRevision next). */
  nextExpectedRevision: bigint;
  /** How many events were written; fewer than given when some ids were already stored. */
  written: number;
}

export interface ReadAllOptions {
  /** Exclusive: read events with a global position greater than this. Absent = from the start. */
  after?: bigint;
  maxCount?: number;
  /** Only these event types (the checkpoint still only moves over what was delivered). */
  eventTypes?: readonly string[];
  /**
   * Top-level fields of each event's data left out: a reader that needs a few small fields of large events (an
   * invoice's status, not its lines) does not pay for reading and parsing the rest.
   */
  omitData?: readonly string[];
}

export interface SubscribeToAllOptions extends ReadAllOptions {
  /** Called with each batch, in order. The next batch is read only after this resolves. */
  handle: (events: RecordedEvent[]) => Promise<void>;
  /** Called when a read or handle throws; the same batch is retried after a pause. */
  onError?: (error: unknown) => void;
  /** Called after a read succeeds: the subscription works (again, after an outage). */
  onHealthy?: () => void;
}

export interface Subscription {
  /** Stops reading; resolves once the batch in hand has been handled. */
  stop(): Promise<void>;
}

export interface EventStore {
  /** Prepares the store (schema, connection). Idempotent. */
  init(): Promise<void>;
  appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult>;
  /**
   * Several streams in one call: atomic in Postgres; in KurrentDB one append per stream,
   * each idempotent by event id, so a retry after a partial failure completes it.
   */
  appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]>;
  readStream(stream: string, options?: { fromRevision?: bigint; maxCount?: number }): Promise<RecordedEvent[]>;
  /**
   * Several whole streams at once (each in revision order; an unknown stream reads as empty): a reader that needs many
   * small streams — an invoice and its subscription's earlier invoices — pays one round trip, not one per stream.
   */
  readStreams(streams: readonly string[]): Promise<Map<string, RecordedEvent[]>>;
  /**
   * Each stream's last revision (what an append would have to name as expectedRevision); an unknown stream is
   * absent. Cheap beside reading the streams: a reader that keeps a stream's fold elsewhere (a projection row at a
   * revision) learns from it whether that fold is still the stream's, without reading the events.
   */
  streamRevisions(streams: readonly string[]): Promise<Map<string, bigint>>;
  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]>;
  /**
   * How many events (of these types) follow a position, counted up to `limit`: how far a projection is
   * behind, cheaply enough for every metrics scrape (Postgres counts index entries; KurrentDB reads them).
   */
  countAfter(options: { after?: bigint; eventTypes?: readonly string[]; limit: number }): Promise<number>;
  /** Catch-up then live: reads from `after`, then waits for new events. */
  subscribeToAll(options: SubscribeToAllOptions): Subscription;
  close(): Promise<void>;
}

export class WrongExpectedRevisionError extends Error {
  constructor(
    readonly stream: string,
    readonly expected: ExpectedRevision,
    readonly actual: bigint | 'no_stream',
  ) {
    super(`Stream ${stream}: expected revision ${String(expected)}, actual ${String(actual)}`);
    this.name = 'WrongExpectedRevisionError';
  }
}

/**
 * A read of the hot ledger from a position below what was pruned to the archive: it would miss the pruned rows,
 * so it is refused. Read through the archive (TieredEventStore), which every app does when TALLY_ARCHIVE is on.
 */
export class LedgerPrunedError extends Error {
  constructor(
    readonly after: bigint,
    readonly prunedThrough: bigint,
  ) {
    super(
      `ledger-pruned: positions up to ${prunedThrough} were pruned from the hot ledger into the archive; a read after ${after} must go through the archive (TALLY_ARCHIVE)`,
    );
    this.name = 'LedgerPrunedError';
  }
}

/** An event without these top-level fields of its data (ReadAllOptions.omitData), for adapters that cannot skip them. */
export const omittingData = (event: RecordedEvent, omit: readonly string[] | undefined): RecordedEvent => {
  if (!omit || omit.length === 0) return event;
  const data = { ...event.data };
  for (const field of omit) delete data[field];
  return { ...event, data };
};

export const revisionMatches = (expected: ExpectedRevision, actual: bigint | undefined): boolean => {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === undefined;
    case 'stream_exists':
      return actual !== undefined;
    default:
      return actual === expected;
  }
};
