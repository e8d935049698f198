import { callBatcher } from '@tally/shared/util-core';
import type {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
} from './event-store.port';
import { withAmbientMetadata } from './telemetry';

export interface BatchingOptions {
  /** Streams read, or callers' appends made, at most in one round trip (default 256). */
  maxBatch?: number;
  /** How long a batch waits for more after its first call (ms; default: to the end of the event loop's turn). */
  lingerMs?: number;
}

/**
 * A ledger whose whole-stream reads and appends made at about the same time go together (callBatcher): the reads
 * as one `readStreams`, the appends as one `appendToStreams` — one transaction and one commit for many callers'
 * appends, each caller's streams still at the revision it read. If the batch's transaction fails (one caller's
 * revision conflict fails it whole, as it would a lone append), each caller's appends are made again on their own,
 * so each gets its own outcome: exactly what it would have had alone. For a process that runs many independent
 * writers at once — a billing run — where each write's round trip and commit were the cost. Its writers must derive
 * their event ids from what they record (invoicing's do): a batch whose commit's outcome is unknown (the connection
 * lost at commit; KurrentDB's per-stream appends half done) is made again caller by caller, and only an id already
 * stored keeps an event from being appended twice.
 */
export class BatchingEventStore implements EventStore {
  private readonly reads: (stream: string) => Promise<RecordedEvent[]>;
  private readonly revisions: (stream: string) => Promise<bigint | undefined>;
  private readonly appends: (appends: readonly StreamAppend[]) => Promise<AppendResult[]>;

  constructor(
    private readonly store: EventStore,
    { maxBatch = 256, lingerMs }: BatchingOptions = {},
  ) {
    this.reads = callBatcher({
      maxBatch,
      lingerMs,
      run: async (streams: string[]) => {
        const read = await store.readStreams(streams);
        return streams.map((stream) => read.get(stream) ?? []);
      },
    });
    this.revisions = callBatcher({
      // A revision is one small row, not a stream's events: many more go in one statement.
      maxBatch: maxBatch * 16,
      lingerMs,
      run: async (streams: string[]) => {
        const revisions = await store.streamRevisions(streams);
        return streams.map((stream) => revisions.get(stream));
      },
    });
    this.appends = callBatcher({
      maxBatch,
      lingerMs,
      run: async (callers: (readonly StreamAppend[])[]) => {
        const results = await store.appendToStreams(callers.flat());
        let next = 0;
        return callers.map((appends) => results.slice(next, (next += appends.length)));
      },
      alone: (appends) => store.appendToStreams(appends),
    });
  }

  init(): Promise<void> {
    return this.store.init();
  }

  appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    return this.appendToStreams([{ stream, events, expectedRevision: options?.expectedRevision }]).then(
      ([result]) => result,
    );
  }

  /** The caller's own trace and correlation ids settled now: the batch is sent from another caller's context. */
  appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    return appends.length === 0 ? Promise.resolve([]) : this.appends(withAmbientMetadata(appends));
  }

  readStream(stream: string, options?: { fromRevision?: bigint; maxCount?: number }): Promise<RecordedEvent[]> {
    return options?.fromRevision !== undefined || options?.maxCount !== undefined
      ? this.store.readStream(stream, options)
      : this.reads(stream);
  }

  async readStreams(streams: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    const unique = [...new Set(streams)];
    const read = await Promise.all(unique.map((stream) => this.reads(stream)));
    return new Map(unique.map((stream, i) => [stream, read[i]]));
  }

  async streamRevisions(streams: readonly string[]): Promise<Map<string, bigint>> {
    const unique = [...new Set(streams)];
    const revisions = await Promise.all(unique.map((stream) => this.revisions(stream)));
    return new Map(
      unique.flatMap((stream, i) => (revisions[i] === undefined ? [] : [[stream, revisions[i]] as const])),
    );
  }

  readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.store.readAll(options);
  }

  countAfter(options: { after?: bigint; eventTypes?: readonly string[]; limit: number }): Promise<number> {
    return this.store.countAfter(options);
  }

  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    return this.store.subscribeToAll(options);
  }

  /** The store is the caller's: closing this view leaves it open. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
