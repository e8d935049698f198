import { randomUUID } from 'node:crypto';
import type { LedgerEvent, StreamDecider } from '@tally/shared/util-core';
import type { EventStore, ExpectedRevision, NewEvent, RecordedEvent, StreamAppend } from './event-store.port';

/** A stream folded: its state, the revision to append at, and the events as recorded. */
export interface Aggregate<E extends LedgerEvent, State> {
  state: State;
  expectedRevision: ExpectedRevision;
  events: RecordedEvent<E>[];
}

/**
 * Reads a stream and folds it. An event of a type the decider does not know is an error, not skipped: a
 * stream is one aggregate's, written only through its decider.
 */
export const aggregateStream = async <E extends LedgerEvent, State>(
  store: EventStore,
  decider: Pick<StreamDecider<unknown, E, State>, 'events' | 'evolve' | 'initialState'>,
  stream: string,
): Promise<Aggregate<E, State>> => foldRecorded(decider, stream, await store.readStream(stream));

/** A stream's events as read (readStream, readStreams) folded by its decider: aggregateStream without the read. */
export const foldRecorded = <E extends LedgerEvent, State>(
  decider: Pick<StreamDecider<unknown, E, State>, 'events' | 'evolve' | 'initialState'>,
  stream: string,
  recorded: readonly RecordedEvent[],
): Aggregate<E, State> => {
  const events = recorded.filter(decider.events);
  if (events.length !== recorded.length) {
    const stranger = recorded.find((e) => !decider.events(e));
    throw new Error(`stream ${stream} holds an event of type ${stranger?.type}, which its decider does not know`);
  }
  return {
    state: events.reduce(decider.evolve, decider.initialState()),
    expectedRevision: recorded.at(-1)?.streamRevision ?? 'no_stream',
    events,
  };
};

export interface HandleOptions<E extends LedgerEvent> {
  /** The id of each new event (default: a random UUID). Derive it from the command where a retry must find the same event. */
  eventId?: (event: E, index: number, expectedRevision: ExpectedRevision) => string;
  /**
   * Other streams' appends that go with the decided events, in the same append (atomic on the Postgres
   * ledger): a subscription id's claim, credit notes. Appended only when the command decided something.
   */
  alsoAppend?: readonly StreamAppend[];
  metadata?: NewEvent['metadata'];
}

export interface Decided<E extends LedgerEvent, State> {
  /** The state before the command, and after its events. */
  before: State;
  state: State;
  /** The events decided; none when the command changes nothing (an idempotent repeat). */
  events: E[];
  /** The append that records them at the revision read, or undefined when there is nothing to append. */
  append?: StreamAppend;
}

/**
 * `read`: the stream as the caller already read it (aggregateStream), decided on without reading it again —
 * the append still names that read's revision, so a change since is a conflict, as ever.
 */
export type ReadOption<E extends LedgerEvent, State> = { read?: Aggregate<E, State> };

/** The command, or how to make it from the stream's state (an edge that looks up facts the state decides on). */
export type CommandOf<Command, State> = Command | { from: (state: State) => Command | Promise<Command> };
const isFactory = <Command, State>(
  c: CommandOf<Command, State>,
): c is { from: (state: State) => Command | Promise<Command> } =>
  typeof c === 'object' && c !== null && 'from' in c && typeof (c as { from: unknown }).from === 'function';

/** Read, fold, decide — without appending: for a decision that must be appended together with another stream's. */
export const decideCommand = async <Command, E extends LedgerEvent, State>(
  store: EventStore,
  decider: StreamDecider<Command, E, State>,
  stream: string,
  command: CommandOf<Command, State>,
  options: Pick<HandleOptions<E>, 'eventId' | 'metadata'> & ReadOption<E, State> = {},
): Promise<Decided<E, State>> => {
  const { state: before, expectedRevision } = options.read ?? (await aggregateStream(store, decider, stream));
  const events = decider.decide(isFactory(command) ? await command.from(before) : command, before);
  const eventId = options.eventId ?? (() => randomUUID());
  const append: StreamAppend | undefined =
    events.length === 0
      ? undefined
      : {
          stream,
          expectedRevision,
          events: events.map((event, index): NewEvent => ({
            id: eventId(event, index, expectedRevision),
            type: event.type,
            data: { ...event.data },
            ...(options.metadata ? { metadata: options.metadata } : {}),
          })),
        };
  return { before, state: events.reduce(decider.evolve, before), events, append };
};

/**
 * The one way a command changes a stream: read it, fold it, decide, and append the decided events at the
 * revision read — a concurrent change is a WrongExpectedRevisionError (the caller retries or reports a
 * conflict), never a lost update. The decider is pure; everything it needs (time, ids, facts from other
 * streams) arrives in the command.
 */
export const handleCommand = async <Command, E extends LedgerEvent, State>(
  store: EventStore,
  decider: StreamDecider<Command, E, State>,
  stream: string,
  command: CommandOf<Command, State>,
  options: HandleOptions<E> & ReadOption<E, State> = {},
): Promise<Decided<E, State>> => {
  const decided = await decideCommand(store, decider, stream, command, options);
  if (decided.append) await store.appendToStreams([...(options.alsoAppend ?? []), decided.append]);
  return decided;
};
