import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  pollingSubscription,
  ReadAllOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
} from '@tally/shared/data-access-event-store';
import { sleep } from '@tally/shared/util-core';
import type { ArchiveReader } from './archive-reader';

/** A hot ledger that can say when something was appended (PostgresEventStore); others are polled. */
interface Wakeable {
  waitForAppend(maxWaitMs: number, signal: AbortSignal): Promise<void>;
}

/**
 * The ledger as one sequence across its two tiers: positions up to the last sealed one are read from the
 * archive, the rest from the hot ledger. Reads across all streams (readAll, countAfter, subscribeToAll) are
 * therefore whole whether or not sealed rows were pruned from the hot ledger, and a projection rebuild or a
 * reconciliation reads the archive then the hot tail without knowing it. Appends and readStream go to the hot
 * ledger: pruning removes only usage streams' rows, which nothing reads by stream (docs/storage.md).
 */
export class TieredEventStore implements EventStore {
  constructor(
    private readonly hot: EventStore,
    private readonly archive: ArchiveReader,
  ) {}

  init(): Promise<void> {
    return this.hot.init();
  }

  appendToStream(
    stream: string,
    events: readonly NewEvent[],
    options?: { expectedRevision?: ExpectedRevision },
  ): Promise<AppendResult> {
    return this.hot.appendToStream(stream, events, options);
  }

  appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    return this.hot.appendToStreams(appends);
  }

  readStream(stream: string, options?: { fromRevision?: bigint; maxCount?: number }): Promise<RecordedEvent[]> {
    return this.hot.readStream(stream, options);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const after = options.after ?? 0n;
    const maxCount = options.maxCount ?? 1_000;
    const sealed = await this.archive.sealedThrough();
    if (after >= sealed) return this.hot.readAll(options);
    const archived = await this.archive.read(after, maxCount, options.eventTypes);
    if (archived.length === maxCount) return archived;
    // The archive ran out below its last sealed position: the rest comes from the hot tail beyond it.
    const tail = await this.hot.readAll({ ...options, after: sealed, maxCount: maxCount - archived.length });
    return [...archived, ...tail];
  }

  async countAfter(options: { after?: bigint; eventTypes?: readonly string[]; limit: number }): Promise<number> {
    const after = options.after ?? 0n;
    const sealed = await this.archive.sealedThrough();
    if (after >= sealed) return this.hot.countAfter(options);
    // Far behind (a projection rebuilding from the start): counted by reading, up to the limit.
    const archived = (await this.archive.read(after, options.limit, options.eventTypes)).length;
    if (archived >= options.limit) return options.limit;
    return archived + (await this.hot.countAfter({ ...options, after: sealed, limit: options.limit - archived }));
  }

  /**
   * Every read goes through readAll above, never straight to the hot ledger: a subscription that lags far
   * behind (a projection failing for days) still finds, in the archive, rows pruned after it started.
   */
  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    const hot = this.hot as Partial<Wakeable>;
    const waitForNews: Wakeable['waitForAppend'] = hot.waitForAppend
      ? (ms, signal) => hot.waitForAppend!(ms, signal)
      : (ms, signal) => sleep(ms, signal);
    return pollingSubscription(
      (after, maxCount) => this.readAll({ after, maxCount, eventTypes: options.eventTypes }),
      waitForNews,
      options,
    );
  }

  close(): Promise<void> {
    return this.hot.close();
  }
}
