import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { BatchingEventStore } from './batching-event-store';
import { WrongExpectedRevisionError } from './event-store.port';
import { PostgresEventStore } from './postgres/postgres-event-store';
import { eventStoreContract } from './testing/event-store.contract';

const schema = uniqueName('esb');
const openPostgres = async () => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema });
  await store.init();
  return store;
};
afterAll(() => dropSchemas(schema));

// Batched, the ledger keeps every promise of the port: the whole contract suite, over the Postgres ledger.
eventStoreContract('Batching over Postgres', () => ({
  open: async () => {
    const store = await openPostgres();
    return Object.assign(new BatchingEventStore(store), { close: () => store.close() });
  },
  checkpointDatabaseUrl: testDatabaseUrl(),
}));

const event = (type = 'Happened') => ({ id: randomUUID(), type, data: { n: Math.random() } });

describe('BatchingEventStore', () => {
  it('appends of concurrent callers go in one transaction, each caller answered with its own revisions', async () => {
    const store = await openPostgres();
    const batching = new BatchingEventStore(store);
    const appends = vi.spyOn(store, 'appendToStreams');
    const [a, b, c] = [`b-a_${randomUUID()}`, `b-b_${randomUUID()}`, `b-c_${randomUUID()}`];
    await store.appendToStream(b, [event()]);
    appends.mockClear();
    const results = await Promise.all([
      batching.appendToStream(a, [event(), event()], { expectedRevision: 'no_stream' }),
      batching.appendToStream(b, [event()], { expectedRevision: 0n }),
      batching.appendToStreams([
        { stream: c, events: [event()], expectedRevision: 'no_stream' },
        { stream: a, events: [event()] },
      ]),
    ]);
    expect(results).toEqual([
      { nextExpectedRevision: 1n, written: 2 },
      { nextExpectedRevision: 1n, written: 1 },
      [
        { nextExpectedRevision: 0n, written: 1 },
        { nextExpectedRevision: 2n, written: 1 },
      ],
    ]);
    expect(appends).toHaveBeenCalledTimes(1);
    expect(appends.mock.calls[0][0]).toHaveLength(4);
    expect((await store.readStream(a)).map((e) => e.streamRevision)).toEqual([0n, 1n, 2n]);
    await store.close();
  });

  it("one caller's conflict fails only that caller: the others' appends are made, the conflicting one writes nothing", async () => {
    const store = await openPostgres();
    const batching = new BatchingEventStore(store);
    const [ok, stale] = [`b-ok_${randomUUID()}`, `b-stale_${randomUUID()}`];
    await store.appendToStream(stale, [event(), event()]);
    const appends = vi.spyOn(store, 'appendToStreams');
    const outcomes = await Promise.allSettled([
      batching.appendToStream(ok, [event()], { expectedRevision: 'no_stream' }),
      batching.appendToStream(stale, [event()], { expectedRevision: 0n }),
      batching.appendToStream(`${ok}-2`, [event()], { expectedRevision: 'no_stream' }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const conflict = (outcomes[1] as PromiseRejectedResult).reason;
    expect(conflict).toBeInstanceOf(WrongExpectedRevisionError);
    expect(conflict).toMatchObject({ stream: stale, expected: 0n, actual: 1n });
    // The batch's one transaction, then each caller's appends on their own.
    expect(appends).toHaveBeenCalledTimes(4);
    expect(await store.readStream(ok)).toHaveLength(1);
    expect(await store.readStream(`${ok}-2`)).toHaveLength(1);
    expect(await store.readStream(stale)).toHaveLength(2);
    await store.close();
  });

  it('whole-stream reads of concurrent callers are one read; a read from a revision goes on its own', async () => {
    const store = await openPostgres();
    const batching = new BatchingEventStore(store);
    const [a, b] = [`b-ra_${randomUUID()}`, `b-rb_${randomUUID()}`];
    await store.appendToStreams([
      { stream: a, events: [event('A1'), event('A2')] },
      { stream: b, events: [event('B1')] },
    ]);
    const many = vi.spyOn(store, 'readStreams');
    const one = vi.spyOn(store, 'readStream');
    const [readA, readB, both, fromOne] = await Promise.all([
      batching.readStream(a),
      batching.readStream(b),
      batching.readStreams([b, a, `b-none_${randomUUID()}`]),
      batching.readStream(a, { fromRevision: 1n }),
    ]);
    expect(readA.map((e) => e.type)).toEqual(['A1', 'A2']);
    expect(readB.map((e) => e.type)).toEqual(['B1']);
    expect([...both.values()].map((events) => events.map((e) => e.type))).toEqual([['B1'], ['A1', 'A2'], []]);
    expect(fromOne.map((e) => e.type)).toEqual(['A2']);
    expect(many).toHaveBeenCalledTimes(1);
    expect(one).toHaveBeenCalledTimes(1);
    await store.close();
  });
});
