import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { eventStoreContract } from '../testing/event-store.contract';
import { PostgresEventStore } from './postgres-event-store';

const schema = uniqueName('es');
const open = async () => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema });
  await store.init();
  return store;
};
afterAll(() => dropSchemas(schema));

eventStoreContract('Postgres', () => ({ open, checkpointDatabaseUrl: testDatabaseUrl() }));

describe('Postgres ledger specifics', () => {
  it('wakes a waiter for the types it reads on their appends only, an untyped one on every append', async () => {
    const store = await open();
    const stream = `wake-t1_${randomUUID()}`;
    const never = new AbortController();
    const woken: string[] = [];
    const wait = (name: string, types?: string[]) =>
      store.waitForAppend(60_000, never.signal, types).then(() => woken.push(name));
    // Listening before anything is appended: the first wait starts the listener, which wakes everyone once.
    await store.waitForAppend(60_000, never.signal);
    const typed = wait('invoices', ['InvoiceDrafted', 'InvoiceFinalized']);
    const untyped = wait('anything');
    await store.appendToStream(stream, [{ id: randomUUID(), type: 'UsageRecorded', data: {} }]);
    await untyped;
    // The usage append's notification has been delivered (the untyped waiter woke on it); the typed one slept through.
    expect(woken).toEqual(['anything']);
    await store.appendToStream(stream, [
      { id: randomUUID(), type: 'UsageRecorded', data: {} },
      { id: randomUUID(), type: 'InvoiceFinalized', data: {} },
    ]);
    await typed;
    expect(woken).toEqual(['anything', 'invoices']);
    await store.close();
  });

  it('recognises an event id already stored in another stream (dedup is store-wide)', async () => {
    const store = await open();
    const id = randomUUID();
    await store.appendToStream('parked-t1_s1', [{ id, type: 'UsageRecorded', data: {} }]);
    const again = await store.appendToStream('usage-t1_a1', [{ id, type: 'UsageRecorded', data: {} }]);
    expect(again.written).toBe(0);
    expect(await store.readStream('usage-t1_a1')).toEqual([]);
    await store.close();
  });

  it('appends to several streams atomically: one conflict writes nothing', async () => {
    const store = await open();
    const ok = `atomic-t1_${randomUUID()}`;
    const taken = `atomic-t1_${randomUUID()}`;
    await store.appendToStream(taken, [{ id: randomUUID(), type: 'X', data: {} }]);
    await expect(
      store.appendToStreams([
        { stream: ok, events: [{ id: randomUUID(), type: 'X', data: {} }] },
        { stream: taken, events: [{ id: randomUUID(), type: 'X', data: {} }], expectedRevision: 'no_stream' },
      ]),
    ).rejects.toThrow(/expected revision no_stream/);
    expect(await store.readStream(ok)).toEqual([]);
    await store.close();
  });

  it('refuses to update or delete a ledger row', async () => {
    const store = await open();
    const { Client } = await import('pg');
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    await store.appendToStream(`immutable-t1_${randomUUID()}`, [{ id: randomUUID(), type: 'X', data: {} }]);
    await expect(client.query(`delete from "${schema}".events`)).rejects.toThrow(/append-only/);
    await client.end();
    await store.close();
  });

  it('keeps global positions in commit order under concurrent appends', async () => {
    const store = await open();
    const before = (await store.readAll({ maxCount: 100_000 })).at(-1)?.globalPosition;
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.appendToStream(`concurrent-t1_${i % 3}`, [{ id: randomUUID(), type: 'X', data: { i } }]),
      ),
    );
    const read = await store.readAll({ after: before, maxCount: 100 });
    expect(read).toHaveLength(20);
    for (const name of new Set(read.map((e) => e.streamName))) {
      const revisions = read.filter((e) => e.streamName === name).map((e) => e.streamRevision);
      expect(revisions).toEqual([...revisions].sort((a, b) => (a < b ? -1 : 1)));
    }
    await store.close();
  });
});
