import {
  ANY,
  AppendStreamState,
  eventTypeFilter,
  excludeSystemEvents,
  FORWARDS,
  jsonEvent,
  KurrentDBClient,
  NO_STREAM,
  ResolvedEvent,
  START,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@kurrent/kurrentdb-client';
import {
  AppendResult,
  EventStore,
  ExpectedRevision,
  JsonObject,
  NewEvent,
  ReadAllOptions,
  RecordedEvent,
  StreamAppend,
  SubscribeToAllOptions,
  Subscription,
  WrongExpectedRevisionError,
} from '../event-store.port';
import { sleep } from '@tally/shared/util-core';
import { pollingSubscription } from '../polling-subscription';

const toStreamState = (expected: ExpectedRevision | undefined): AppendStreamState => {
  switch (expected) {
    case undefined:
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
};

const toRecorded = (resolved: ResolvedEvent): RecordedEvent | undefined => {
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

/**
 * The production ledger on KurrentDB / EventStoreDB. Held to the same contract suite as the
 * Postgres adapter when KURRENTDB_URL is set. Known difference: KurrentDB's idempotent append
 * recognises re-sent event ids per stream and only near the stream's end, not store-wide.
 */
export class KurrentDbEventStore implements EventStore {
  private readonly client: KurrentDBClient;

  constructor(connectionString: string) {
    this.client = KurrentDBClient.connectionString`${connectionString}`;
  }

  async init(): Promise<void> {
    // Fails fast with the server's own error when it is unreachable.
    await this.readAll({ maxCount: 1 });
  }

  async appendToStream(stream: string, events: readonly NewEvent[], options?: { expectedRevision?: ExpectedRevision }): Promise<AppendResult> {
    try {
      const result = await this.client.appendToStream(
        stream,
        events.map((e) => jsonEvent({ id: e.id, type: e.type, data: e.data, metadata: e.metadata ?? {} })),
        { streamState: toStreamState(options?.expectedRevision) },
      );
      return { nextExpectedRevision: result.nextExpectedRevision, written: events.length };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = typeof error.actualState === 'bigint' ? error.actualState : 'no_stream';
        throw new WrongExpectedRevisionError(stream, options?.expectedRevision ?? 'any', actual);
      }
      throw error;
    }
  }

  async appendToStreams(appends: readonly StreamAppend[]): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const append of appends) results.push(await this.appendToStream(append.stream, append.events, { expectedRevision: append.expectedRevision }));
    return results;
  }

  async readStream(stream: string, options?: { fromRevision?: bigint; maxCount?: number }): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    try {
      for await (const resolved of this.client.readStream(stream, {
        fromRevision: options?.fromRevision ?? START,
        direction: FORWARDS,
        maxCount: options?.maxCount ?? Number.MAX_SAFE_INTEGER,
      })) {
        const recorded = toRecorded(resolved);
        if (recorded) events.push(recorded);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  async readAll(options?: ReadAllOptions): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    const after = options?.after;
    const maxCount = options?.maxCount ?? 1_000;
    const filter = options?.eventTypes ? eventTypeFilter({ regex: `^(${options.eventTypes.map(escapeRegex).join('|')})$` }) : excludeSystemEvents();
    // fromPosition is inclusive in KurrentDB; read one extra and drop the checkpoint itself.
    for await (const resolved of this.client.readAll({
      fromPosition: after === undefined ? START : { commit: after, prepare: after },
      direction: FORWARDS,
      maxCount: maxCount + 1,
      filter,
    })) {
      const recorded = toRecorded(resolved);
      if (recorded && (after === undefined || recorded.globalPosition > after) && events.length < maxCount) events.push(recorded);
    }
    return events;
  }

  subscribeToAll(options: SubscribeToAllOptions): Subscription {
    return pollingSubscription((after, maxCount) => this.readAll({ after, maxCount, eventTypes: options.eventTypes }), (ms, signal) => sleep(Math.min(ms, 250), signal), options);
  }

  async close(): Promise<void> {
    await this.client.dispose();
  }
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
