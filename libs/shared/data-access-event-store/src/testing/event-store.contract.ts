import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStore, NewEvent, RecordedEvent, WrongExpectedRevisionError } from '../event-store.port';

export interface ContractTarget {
  /** Opens a store on the same underlying ledger each time it is called (a "restart"). */
  open: () => Promise<EventStore>;
  /** Durable storage for the subscriber's checkpoint, outside the store (as a projection keeps it). */
  checkpointDatabaseUrl: string;
}

const event = (type = 'Tested', data: Record<string, unknown> = {}): NewEvent => ({ id: randomUUID(), type, data });
const stream = (label: string) => `contract${label}-t1_${randomUUID().slice(0, 8)}`;

/** The one behaviour every EventStore adapter must show. */
export const eventStoreContract = (adapter: string, target: () => ContractTarget) =>
  describe(`EventStore contract: ${adapter}`, () => {
    let store: EventStore;
    beforeAll(async () => {
      store = await target().open();
    });
    afterAll(() => store.close());

    describe('append and read a stream', () => {
      it('reads back what was appended, in order, with revisions from 0', async () => {
        const name = stream('read');
        const events = [event('A', { n: 1 }), event('B', { n: 2 })];
        const result = await store.appendToStream(name, events, { expectedRevision: 'no_stream' });
        expect(result.nextExpectedRevision).toBe(1n);
        const read = await store.readStream(name);
        expect(read.map((e) => [e.id, e.type, e.data, e.streamRevision])).toEqual([
          [events[0].id, 'A', { n: 1 }, 0n],
          [events[1].id, 'B', { n: 2 }, 1n],
        ]);
      });

      it('reads an unknown stream as empty', async () => expect(await store.readStream(stream('none'))).toEqual([]));

      it('reads several streams at once, each in revision order, an unknown one as empty', async () => {
        const [one, two, none] = [stream('many-1'), stream('many-2'), stream('many-none')];
        await store.appendToStream(one, [event('A', { n: 1 }), event('B', { n: 2 })]);
        await store.appendToStream(two, [event('C', { n: 3 })]);
        await store.appendToStream(one, [event('D', { n: 4 })]);
        const read = await store.readStreams([two, none, one]);
        expect([...read.keys()].sort()).toEqual([one, two, none].sort());
        expect(read.get(one)?.map((e) => [e.type, e.streamRevision, e.streamName])).toEqual([
          ['A', 0n, one],
          ['B', 1n, one],
          ['D', 2n, one],
        ]);
        expect(read.get(two)?.map((e) => [e.type, e.data])).toEqual([['C', { n: 3 }]]);
        expect(read.get(none)).toEqual([]);
        expect(await store.readStreams([])).toEqual(new Map());
      });

      it("tells each stream's last revision without its events, an unknown stream absent", async () => {
        const [one, two, none] = [stream('rev-1'), stream('rev-2'), stream('rev-none')];
        await store.appendToStream(one, [event(), event(), event()]);
        await store.appendToStream(two, [event()]);
        expect(await store.streamRevisions([two, none, one, two])).toEqual(
          new Map([
            [two, 0n],
            [one, 2n],
          ]),
        );
        await store.appendToStream(two, [event()]);
        expect((await store.streamRevisions([two])).get(two)).toBe(1n);
        expect(await store.streamRevisions([])).toEqual(new Map());
      });
    });

    describe('optimistic concurrency', () => {
      it('refuses a wrong expected revision with a typed conflict and writes nothing', async () => {
        const name = stream('conflict');
        await store.appendToStream(name, [event(), event()], { expectedRevision: 'no_stream' });
        const stale = store.appendToStream(name, [event()], { expectedRevision: 0n });
        await expect(stale).rejects.toBeInstanceOf(WrongExpectedRevisionError);
        await expect(stale).rejects.toMatchObject({ stream: name, expected: 0n, actual: 1n });
        expect(await store.readStream(name)).toHaveLength(2);
      });

      it('refuses no_stream on an existing stream and stream_exists on a missing one', async () => {
        const name = stream('states');
        await store.appendToStream(name, [event()]);
        await expect(store.appendToStream(name, [event()], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(
          WrongExpectedRevisionError,
        );
        await expect(
          store.appendToStream(stream('missing'), [event()], { expectedRevision: 'stream_exists' }),
        ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      });

      it('accepts the right expected revision', async () => {
        const name = stream('right');
        const first = await store.appendToStream(name, [event()], { expectedRevision: 'no_stream' });
        const second = await store.appendToStream(name, [event()], { expectedRevision: first.nextExpectedRevision });
        expect(second.nextExpectedRevision).toBe(1n);
      });
    });

    describe('idempotent append', () => {
      it('stores events re-appended with the same ids once', async () => {
        const name = stream('idem');
        const events = [event(), event()];
        await store.appendToStream(name, events, { expectedRevision: 'no_stream' });
        const again = await store.appendToStream(name, events, { expectedRevision: 'no_stream' });
        expect(again.nextExpectedRevision).toBe(1n);
        expect(again.written).toBe(0);
        expect((await store.readStream(name)).map((e) => e.id)).toEqual(events.map((e) => e.id));
      });

      it('stores an id once store-wide: re-appended to another stream (usage parked, later attributed), it is not written again', async () => {
        const [parked, attributed] = [stream('parked'), stream('attributed')];
        const usage = event();
        expect((await store.appendToStream(parked, [usage])).written).toBe(1);
        const elsewhere = await store.appendToStreams([{ stream: attributed, events: [usage, event()] }]);
        expect(elsewhere[0].written).toBe(1);
        const everywhere = [...(await store.readStream(parked)), ...(await store.readStream(attributed))];
        expect(everywhere.filter((e) => e.id === usage.id)).toHaveLength(1);
      });
    });

    describe('read all', () => {
      it('returns every stream interleaved in global order, strictly after a position', async () => {
        const before = await lastPosition(store);
        const [a, b] = [stream('alla'), stream('allb')];
        const written = [event(), event(), event()];
        await store.appendToStream(a, [written[0]]);
        await store.appendToStream(b, [written[1]]);
        await store.appendToStream(a, [written[2]]);
        const read = await store.readAll({ after: before, maxCount: 100 });
        const ours = read.filter((e) => e.streamName === a || e.streamName === b);
        expect(ours.map((e) => e.id)).toEqual(written.map((e) => e.id));
        expect(isStrictlyIncreasing(read.map((e) => e.globalPosition))).toBe(true);
        expect(read.every((e) => before === undefined || e.globalPosition > before)).toBe(true);
      });

      it('filters by event types: the first n of those types in global order, however the types interleave', async () => {
        const before = await lastPosition(store);
        const tag = randomUUID().slice(0, 8);
        const [x, y, z] = [`X${tag}`, `Y${tag}`, `Z${tag}`];
        const written = [event(x), event(y), event(z), event(x), event(z), event(y), event(x)];
        for (const e of written) await store.appendToStream(stream('typed'), [e]);
        const wanted = written.filter((e) => e.type === x || e.type === z).map((e) => e.id);
        expect((await store.readAll({ after: before, maxCount: 100, eventTypes: [x, z, x] })).map((e) => e.id)).toEqual(
          wanted,
        );
        const firstThree = await store.readAll({ after: before, maxCount: 3, eventTypes: [z, x] });
        expect(firstThree.map((e) => e.id)).toEqual(wanted.slice(0, 3));
        const rest = await store.readAll({ after: firstThree[2].globalPosition, maxCount: 100, eventTypes: [x, z] });
        expect(rest.map((e) => e.id)).toEqual(wanted.slice(3));
        expect(await store.readAll({ after: before, maxCount: 100, eventTypes: [`none${tag}`] })).toEqual([]);
      });

      it('leaves out the data fields asked, with or without a type filter, and only those', async () => {
        const before = await lastPosition(store);
        const type = `Big${randomUUID().slice(0, 8)}`;
        const data = { tenant: 't', lines: [{ amount: '1' }], total: '1', nested: { lines: 'kept' } };
        await store.appendToStream(stream('omit'), [{ id: randomUUID(), type, data }]);
        const typed = await store.readAll({
          after: before,
          maxCount: 100,
          eventTypes: [type],
          omitData: ['lines', 'total'],
        });
        const untyped = (await store.readAll({ after: before, maxCount: 100, omitData: ['lines', 'absent'] })).filter(
          (e) => e.type === type,
        );
        expect([typed.map((e) => e.data), untyped.map((e) => e.data)]).toEqual([
          [{ tenant: 't', nested: { lines: 'kept' } }],
          [{ tenant: 't', total: '1', nested: { lines: 'kept' } }],
        ]);
        expect((await store.readAll({ after: before, maxCount: 100, eventTypes: [type] }))[0].data).toEqual(data);
      });

      it('counts the events after a position, of some types, up to a limit', async () => {
        const before = await lastPosition(store);
        const tag = randomUUID().slice(0, 8);
        const [x, y] = [`X${tag}`, `Y${tag}`];
        const written = [event(x), event(y), event(x), event(x)];
        for (const e of written) await store.appendToStream(stream('counted'), [e]);
        expect(await store.countAfter({ after: before, eventTypes: [x, y], limit: 100 })).toBe(4);
        expect(await store.countAfter({ after: before, eventTypes: [x], limit: 100 })).toBe(3);
        expect(await store.countAfter({ after: before, eventTypes: [x, y], limit: 2 })).toBe(2);
        const last = (await store.readAll({ after: before, maxCount: 100, eventTypes: [x] }))[2].globalPosition;
        expect(await store.countAfter({ after: last, eventTypes: [x, y], limit: 100 })).toBe(0);
        expect(await store.countAfter({ after: before, eventTypes: [`none${tag}`], limit: 100 })).toBe(0);
        expect(await store.countAfter({ after: before, eventTypes: [], limit: 100 })).toBe(0);
      });
    });

    describe('subscription', () => {
      it('catches up, goes live, and resumes after its checkpoint when restarted', async () => {
        const { checkpointDatabaseUrl } = target();
        const checkpoints = new Client({ connectionString: checkpointDatabaseUrl });
        await checkpoints.connect();
        const table = `contract_checkpoint_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
        await checkpoints.query(`create table ${table} (id int primary key, position text not null)`);
        const name = stream('sub');
        const start = await lastPosition(store);
        const seen: RecordedEvent[] = [];
        const mine = (events: RecordedEvent[]) => events.filter((e) => e.streamName === name);
        const subscribe = (on: EventStore, after: bigint | undefined) =>
          on.subscribeToAll({
            after,
            onError: (error) => console.error('contract subscription handler failed', error),
            handle: async (events) => {
              seen.push(...mine(events));
              await checkpoints.query(
                `insert into ${table} values (1, $1) on conflict (id) do update set position = excluded.position`,
                [events[events.length - 1].globalPosition.toString()],
              );
            },
          });

        const historic = [event(), event()];
        await store.appendToStream(name, historic);
        const first = subscribe(store, start);
        await waitFor(() => seen.length === 2);
        const live = event();
        await store.appendToStream(name, [live]);
        await waitFor(() => seen.length === 3);
        await first.stop();
        await store.close();

        // While nobody listens, more is written; a restarted process resumes from the stored checkpoint.
        const restarted = await target().open();
        const missed = event();
        await restarted.appendToStream(name, [missed]);
        const saved = BigInt(
          (await checkpoints.query<{ position: string }>(`select position from ${table}`)).rows[0].position,
        );
        const second = subscribe(restarted, saved);
        await waitFor(() => seen.length === 4);
        await second.stop();
        store = restarted;
        await checkpoints.query(`drop table ${table}`);
        await checkpoints.end();
        expect(seen.map((e) => e.id)).toEqual([...historic, live, missed].map((e) => e.id));
      });
    });
  });

const lastPosition = async (store: EventStore): Promise<bigint | undefined> => {
  let after: bigint | undefined;
  for (;;) {
    const page = await store.readAll({ after, maxCount: 1_000 });
    if (page.length === 0) return after;
    after = page[page.length - 1].globalPosition;
  }
};

const isStrictlyIncreasing = (values: bigint[]) => values.every((v, i) => i === 0 || v > values[i - 1]);

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the subscription');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
