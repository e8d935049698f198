import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { eventsOf, LedgerEvent, StreamDecider } from '@tally/shared/util-core';
import { aggregateStream, decideCommand, handleCommand } from './command-handler';
import { WrongExpectedRevisionError } from './event-store.port';
import { PostgresEventStore } from './postgres/postgres-event-store';

/** A counter that may not go above a limit: enough of an aggregate to show what the handler does. */
type Counted = LedgerEvent<'Counted', { by: number }>;
type Count = { type: 'Count'; by: number; limit: number };
const counter: StreamDecider<Count, Counted, number> = {
  initialState: () => 0,
  evolve: (total, event) => total + event.data.by,
  decide: (command, total) => {
    if (total + command.by > command.limit) throw new Error(`over the limit of ${command.limit}`);
    return command.by === 0 ? [] : [{ type: 'Counted', data: { by: command.by } }];
  },
  events: eventsOf<Counted>({ Counted: true }),
};

/** handleCommand on the Postgres ledger: read, fold, decide, append at the revision read. */
describe('handleCommand', () => {
  const schema = uniqueName('cmd');
  let store: PostgresEventStore;
  const stream = () => `counter-t1_${randomUUID()}`;

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema });
    await store.init();
  });
  afterAll(async () => {
    await store?.close();
    await dropSchemas(schema);
  });

  it('appends what the decider decides, at the revision it read; folds the state before and after', async () => {
    const s = stream();
    expect(await handleCommand(store, counter, s, { type: 'Count', by: 2, limit: 10 })).toMatchObject({
      before: 0,
      state: 2,
    });
    const second = await handleCommand(store, counter, s, { type: 'Count', by: 3, limit: 10 });
    expect(second).toMatchObject({ before: 2, state: 5, events: [{ type: 'Counted', data: { by: 3 } }] });
    expect((await store.readStream(s)).map((e) => [e.streamRevision, e.data.by])).toEqual([
      [0n, 2],
      [1n, 3],
    ]);
    expect((await aggregateStream(store, counter, s)).state).toBe(5);
  });

  it('appends nothing when nothing is decided, and nothing when the decider refuses', async () => {
    const s = stream();
    expect((await handleCommand(store, counter, s, { type: 'Count', by: 0, limit: 10 })).events).toEqual([]);
    await expect(handleCommand(store, counter, s, { type: 'Count', by: 11, limit: 10 })).rejects.toThrow(/limit/);
    expect(await store.readStream(s)).toEqual([]);
  });

  it('a change between the read and the append is a conflict, never a lost update', async () => {
    const s = stream();
    await handleCommand(store, counter, s, { type: 'Count', by: 6, limit: 10 });
    // Two commands decided on the same state (6): each alone is within the limit, together they are not.
    const first = await decideCommand(store, counter, s, { type: 'Count', by: 4, limit: 10 });
    const second = await decideCommand(store, counter, s, { type: 'Count', by: 4, limit: 10 });
    await store.appendToStreams(first.append ? [first.append] : []);
    await expect(store.appendToStreams(second.append ? [second.append] : [])).rejects.toBeInstanceOf(
      WrongExpectedRevisionError,
    );
    expect((await aggregateStream(store, counter, s)).state).toBe(10);
  });

  it('appends another stream with the decided events only, in the same append', async () => {
    const s = stream();
    const other = stream();
    const also = [{ stream: other, events: [{ id: randomUUID(), type: 'Counted', data: { by: 1 } }] }];
    await handleCommand(store, counter, s, { type: 'Count', by: 0, limit: 10 }, { alsoAppend: also });
    expect(await store.readStream(other)).toEqual([]);
    await handleCommand(store, counter, s, { type: 'Count', by: 1, limit: 10 }, { alsoAppend: also });
    expect(await store.readStream(other)).toHaveLength(1);
  });

  it('builds the command from the state when asked, and uses the given event ids (a retry finds its event)', async () => {
    const s = stream();
    const id = randomUUID();
    const handled = await handleCommand(
      store,
      counter,
      s,
      { from: (total: number) => ({ type: 'Count' as const, by: 10 - total, limit: 10 }) },
      { eventId: () => id },
    );
    expect(handled.state).toBe(10);
    expect((await store.readStream(s)).map((e) => e.id)).toEqual([id]);
  });

  it('refuses to fold a stream holding an event its decider does not know', async () => {
    const s = stream();
    await store.appendToStream(s, [{ id: randomUUID(), type: 'Stranger', data: {} }]);
    await expect(aggregateStream(store, counter, s)).rejects.toThrow(/Stranger/);
  });
});
