import { inSpan } from '@tally/shared/util-telemetry';
import { appendSpan, withAmbientMetadata } from '../telemetry';
import type * as Kurrent from '@kurrent/kurrentdb-client';
import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  JsonObject,
  NewEvent,
  omittingData,
  ReadAllOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { Sema } from 'async-sema';
import { sleep } from '@tally/shared/util-core';
import { EventIdIndex, Pin } from './event-id-index';

// Required when a store is made, not when this module loads: the client (gRPC, protobuf, a native bridge)
// adds ≈ 27 MB of resident memory to every process that loads it, and only KURRENTDB_URL uses it.
let client: typeof Kurrent | undefined;
const kurrent = (): typeof Kurrent => (client ??= require('@kurrent/kurrentdb-client'));

const toStreamState = (expected: ExpectedRevision | undefined): Kurrent.AppendStreamState => {
  switch (expected) {
    case undefined:
    case 'any':
      return kurrent().ANY;
    case 'no_stream':
      return kurrent().NO_STREAM;
    case 'stream_exists':
      return kurrent().STREAM_EXISTS;
    default:
      return expected;
  }
};

const toRecorded = (resolved: Kurrent.ResolvedEvent): RecordedEvent | undefined => {
  const event = resolved.event;
  if (!event || !event.isJson) return undefined;
  return {
    id: event.id,
    type: event.type,
    data: event.data as JsonObject,
    metadata: (event.metadata ?? {}) as JsonObject,
    streamName: event.streamId,
    streamRevision: event.revision,
    // The commit position orders $all; it is what a checkpoint stores.
    globalPosition: event.position?.commit ?? 0n,
    recordedAt: event.created,
  };
};

export interface KurrentDbEventStoreOptions {
  connectionString: string;
  /** Postgres holding the store-wide event id index (see EventIdIndex). */
  index: { connectionString: string; schema: string };
  /** How long ids are remembered: the lateness horizon and a margin. */
  retentionDays: number;
}

/**
 * The production ledger on KurrentDB / EventStoreDB. Held to the same contract suite as the Postgres
 * adapter when KURRENTDB_URL is set. KurrentDB itself recognises a re-sent event id only in the same
 * stream and near its end; usage first parked and later attributed would land in two streams. An
 * EventIdIndex in Postgres pins every id to its first stream and makes the dedup store-wide and exact,
 * and `written` counts what was really written. Subscriptions are KurrentDB's own catch-up subscriptions
 * to $all (server push, no polling).
 */
export class KurrentDbEventStore implements EventStore {
  private readonly client: Kurrent.KurrentDBClient;
  private readonly index: EventIdIndex;
  private pruning?: NodeJS.Timeout;

  constructor(private readonly options: KurrentDbEventStoreOptions) {
    this.client = kurrent().KurrentDBClient.connectionString`${options.connectionString}`;
    this.index = EventIdIndex.open(options.index.connectionString, options.index.schema);
  }

  async init(): Promise<void> {
    await this.index.init();
    // Fails fast with the server's own error when it is unreachable.
    await this.readAll({ maxCount: 1 });
    const prune = () =>
      void this.index.prune(new Date(Date.now() - this.options.retentionDays * 86_400_000)).catch(() => undefined);
    prune();
    this.pruning = setInterval(prune, 3_600_000).unref();
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

  /**
   * One append per stream, under the ids' pins: an id already written is skipped, an id pinned to another
   * stream is written there (if an interrupted attempt did not already), the rest to the stream asked.
   * As in the Postgres adapter, the expected revision is checked only when something is to be written.
   */
  appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    return inSpan('ledger append', appendSpan(appends, 'kurrentdb'), () =>
      this.appendInSpan(withAmbientMetadata(appends)),
    );
  }

  private async appendInSpan(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const entries = appends.flatMap((a) => a.events.map((e) => ({ id: e.id.toLowerCase(), stream: a.stream })));
    const firstOfEach = [...new Map(entries.reverse().map((e) => [e.id, e])).values()];
    const fresh = await this.index.pin(firstOfEach);
    return this.index.whileLocked(
      firstOfEach.map((e) => e.id),
      fresh,
      async (pins) => {
        const held: string[] = [];
        const results: AppendResult[] = [];
        for (const append of appends) {
          const here: NewEvent[] = [];
          const elsewhere = new Map<string, NewEvent[]>();
          for (const event of append.events) {
            const id = event.id.toLowerCase();
            const pin = pins.get(id) as Pin;
            if (
              pin.state === 'written' ||
              held.includes(id) ||
              (!pin.fresh && (await this.holds(pin.stream, id, pin.pinnedAt)))
            ) {
              held.push(id);
              continue;
            }
            held.push(id);
            if (pin.stream === append.stream) here.push(event);
            else elsewhere.set(pin.stream, [...(elsewhere.get(pin.stream) ?? []), event]);
          }
          for (const [stream, events] of elsewhere) await this.appendOnly(stream, events, 'any');
          const written = here.length + [...elsewhere.values()].reduce((n, list) => n + list.length, 0);
          results.push({
            nextExpectedRevision:
              here.length > 0
                ? await this.appendOnly(append.stream, here, append.expectedRevision)
                : await this.lastRevision(append.stream),
            written,
          });
        }
        return { result: results, held };
      },
    );
  }

  private async appendOnly(
    stream: string,
    events: readonly NewEvent[],
    expectedRevision: ExpectedRevision | undefined,
  ): Promise<bigint> {
    try {
      const result = await this.client.appendToStream(
        stream,
        events.map((e) => kurrent().jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata ?? {} })),
        { streamState: toStreamState(expectedRevision) },
      );
      return result.nextExpectedRevision;
    } catch (error) {
      if (error instanceof kurrent().WrongExpectedVersionError) {
        const actual = typeof error.actualState === 'bigint' ? error.actualState : 'no_stream';
        throw new WrongExpectedRevisionError(stream, expectedRevision ?? 'any', actual);
      }
      throw error;
    }
  }

  /** The stream's last revision, -1 when it does not exist (what `nextExpectedRevision` says when nothing was written). */
  private async lastRevision(stream: string): Promise<bigint> {
    try {
      for await (const resolved of this.client.readStream(stream, {
        fromRevision: kurrent().END,
        direction: kurrent().BACKWARDS,
        maxCount: 1,
      }))
        return resolved.event?.revision ?? -1n;
    } catch (error) {
      if (!(error instanceof kurrent().StreamNotFoundError)) throw error;
    }
    return -1n;
  }

  /**
   * Whether an interrupted attempt already wrote the id to its pinned stream: the stream is read backwards
   * down to events older than the pin (less a minute for clocks that disagree).
   */
  private async holds(stream: string, id: string, pinnedAt: Date): Promise<boolean> {
    const floor = pinnedAt.getTime() - 60_000;
    try {
      for await (const resolved of this.client.readStream(stream, {
        fromRevision: kurrent().END,
        direction: kurrent().BACKWARDS,
        maxCount: Number.MAX_SAFE_INTEGER,
      })) {
        if (resolved.event?.id.toLowerCase() === id) return true;
        if (resolved.event && resolved.event.created.getTime() < floor) return false;
      }
    } catch (error) {
      if (!(error instanceof kurrent().StreamNotFoundError)) throw error;
    }
    return false;
  }
  /**
   * KurrentDB reads one stream per call: the streams read side by side over the client's one connection, at most
   * `streamReadsAtOnce` at a time (a batching caller hands over thousands at once).
   */
  async readStreams(streams: readonly string[]): Promise<Map<string, RecordedEvent[]>> {
    const unique = [...new Set(streams)];
    const read = await Promise.all(unique.map((stream) => this.inTurn(() => this.readStream(stream))));
    return new Map(unique.map((stream, i) => [stream, read[i]]));
  }

  private readonly streamReads = new Sema(streamReadsAtOnce);

  private async inTurn<T>(read: () => Promise<T>): Promise<T> {
    await this.streamReads.acquire();
    try {
      return await read();
    } finally {
      this.streamReads.release();
    }
  }

  /** Each stream's last event, read backwards, the streams side by side (as readStreams, a bounded number at once). */
  async streamRevisions(streams: readonly string[]): Promise<Map<string, bigint>> {
    const unique = [...new Set(streams)];
    const last = await Promise.all(
      unique.map((stream) =>
        this.inTurn(async () => {
          try {
            for await (const resolved of this.client.readStream(stream, {
              fromRevision: kurrent().END,
              direction: kurrent().BACKWARDS,
              maxCount: 1,
            }))
              if (resolved.event) return resolved.event.revision;
          } catch (error) {
            if (!(error instanceof kurrent().StreamNotFoundError)) throw error;
          }
          return undefined;
        }),
      ),
    );
    return new Map(unique.flatMap((stream, i) => (last[i] === undefined ? [] : [[stream, last[i]] as const])));
  }

  async readStream(stream: string, options?: { fromRevision?: bigint; maxCount?: number }): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, {
        fromRevision: options?.fromRevision ?? kurrent().START,
        direction: kurrent().FORWARDS,
        maxCount: options?.maxCount ?? Number.MAX_SAFE_INTEGER,
      })) {
        const recorded = toRecorded(resolved);
        if (recorded) events.push(recorded);
      }
    } catch (error) {
      if (error instanceof kurrent().StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  /** KurrentDB has no count: the events are read (filtered server-side), at most `limit` of them. */
  async countAfter(options: { after?: bigint; eventTypes?: readonly string[]; limit: number }): Promise<number> {
    return (await this.readAll({ after: options.after, eventTypes: options.eventTypes, maxCount: options.limit }))
      .length;
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    const after = options?.after;
    const maxCount = options?.maxCount ?? 1_000;
    const filter = options?.eventTypes
      ? kurrent().eventTypeFilter({ regex: `^(${options.eventTypes.map(escapeRegex).join('|')})$` })
      : kurrent().excludeSystemEvents();
    // fromPosition is inclusive in KurrentDB; read one extra and drop the checkpoint itself.
    for await (const resolved of this.client.readAll({
      fromPosition: after === undefined ? kurrent().START : { commit: after, prepare: after },
      direction: kurrent().FORWARDS,
      maxCount: maxCount + 1,
      filter,
    })) {
      const recorded = toRecorded(resolved);
      if (recorded && (after === undefined || recorded.globalPosition > after) && events.length < maxCount)
        events.push(omittingData(recorded, options?.omitData));
    }
    return events;
  }

  /**
   * KurrentDB's catch-up subscription to $all (pushed by the server). Events are handed over in batches of
   * what has arrived (up to maxCount); a batch that fails, or a dropped subscription, resubscribes after
   * the last batch handled, after a pause.
   */
  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    const maxCount = options.maxCount ?? 500;
    const stopping = new AbortController();
    let after = options.after;
    let current: Kurrent.AllStreamSubscription | undefined;
    const filter = options.eventTypes
      ? kurrent().eventTypeFilter({ regex: `^(${options.eventTypes.map(escapeRegex).join('|')})$` })
      : kurrent().excludeSystemEvents();
    const handOver = async (batch: RecordedEvent[]) => {
      await options.handle(batch);
      after = batch[batch.length - 1].globalPosition;
    };
    const running = (async () => {
      while (!stopping.signal.aborted) {
        try {
          const subscription = this.client.subscribeToAll({
            fromPosition: after === undefined ? kurrent().START : { commit: after, prepare: after },
            filter,
          });
          current = subscription;
          subscription.on('caughtUp', () => options.onHealthy?.());
          let batch: RecordedEvent[] = [];
          for await (const resolved of subscription) {
            if (stopping.signal.aborted) break;
            const recorded = toRecorded(resolved);
            if (recorded && (after === undefined || recorded.globalPosition > after))
              batch.push(omittingData(recorded, options.omitData));
            // Nothing more buffered right now, or a full batch: hand over what there is.
            if (batch.length > 0 && (batch.length >= maxCount || subscription.readableLength === 0)) {
              await handOver(batch);
              batch = [];
            }
          }
        } catch (error) {
          if (stopping.signal.aborted) break;
          options.onError?.(error);
        } finally {
          await current?.unsubscribe().catch(() => undefined);
        }
        await sleep(retryPauseMs, stopping.signal);
      }
    })();
    return {
      stop: async () => {
        stopping.abort();
        await current?.unsubscribe().catch(() => undefined);
        await running;
      },
    };
  }

  async close(): Promise<void> {
    clearInterval(this.pruning);
    await this.index.close();
    await this.client.dispose();
  }
}

const retryPauseMs = 1_000;

/** Stream reads in flight at once over the client's one connection (readStreams, streamRevisions). */
const streamReadsAtOnce = 64;

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
