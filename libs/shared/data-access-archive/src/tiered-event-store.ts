import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  LedgerPrunedError,
  NewEvent,
  omittingData,
  pollingSubscription,
  ReadAllOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
} from '@tally/shared/data-access-event-store';
import { sleep } from '@tally/shared/util-core';
import type { ArchiveReader, ArchiveView } from './archive-reader';

/** A hot ledger that can say when something was appended (PostgresEventStore); others are polled. */
interface Wakeable {
  waitForAppend(maxWaitMs: number, signal: AbortSignal, eventTypes?: readonly string[]): Promise<void>;
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

  readStreams(streams: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    return this.hot.readStreams(streams);
  }

  /** The hot ledger keeps every stream's last revision through a prune (pruned_streams). */
  streamRevisions(streams: readonly string[]): Promise<Map<string, bigint>> {
    return this.hot.streamRevisions(streams);
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.tiered(options.after ?? 0n, async (view, after) => {
      const maxCount = options.maxCount ?? 1_000;
      if (after >= view.through) return this.hot.readAll(options);
      // Only the view's files, and the hot tail strictly after the last position they cover: a seal committed
      // meanwhile can neither hide a row nor hand one over twice.
      const archived = (await this.archive.read(view, after, maxCount, options.eventTypes)).map((event) =>
        omittingData(event, options.omitData),
      );
      if (archived.length === maxCount) return archived;
      const tail = await this.hot.readAll({ ...options, after: view.through, maxCount: maxCount - archived.length });
      return [...archived, ...tail];
    });
  }

  async countAfter(options: { after?: bigint; eventTypes?: readonly string[]; limit: number }): Promise<number> {
    return this.tiered(options.after ?? 0n, async (view, after) => {
      if (after >= view.through) return this.hot.countAfter(options);
      // Far behind (a projection rebuilding from the start): counted by reading, up to the limit.
      const archived = (await this.archive.read(view, after, options.limit, options.eventTypes)).length;
      if (archived >= options.limit) return options.limit;
      return (
        archived + (await this.hot.countAfter({ ...options, after: view.through, limit: options.limit - archived }))
      );
    });
  }

  /**
   * Runs a read against the manifest as last seen; if the hot ledger says positions after it were pruned since
   * (LedgerPrunedError: checked in the same statement as its read), the manifest is listed again — whatever was
   * pruned was sealed first — and the read runs once more.
   */
  private async tiered<T>(after: bigint, read: (view: ArchiveView, after: bigint) => Promise<T>): Promise<T> {
    try {
      return await read(await this.archive.current(), after);
    } catch (error) {
      if (!(error instanceof LedgerPrunedError)) throw error;
      return read(await this.archive.current(true), after);
    }
  }

  /**
   * Every read goes through readAll above, never straight to the hot ledger: a subscription that lags far
   * behind (a projection failing for days) still finds, in the archive, rows pruned after it started.
   */
  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    const wake = (this.hot as Partial<Wakeable>).waitForAppend?.bind(this.hot);
    const waitForNews = (ms: number, signal: AbortSignal) =>
      wake ? wake(ms, signal, options.eventTypes) : sleep(ms, signal);
    return pollingSubscription(
      (after, maxCount) =>
        this.readAll({ after, maxCount, eventTypes: options.eventTypes, omitData: options.omitData }),
      waitForNews,
      options,
    );
  }

  close(): Promise<void> {
    return this.hot.close();
  }
}
