import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { EventIdIndex } from './event-id-index';

/**
 * The index that makes KurrentDB's dedup store-wide, on the real Postgres (the KurrentDB side of the
 * protocol runs only in the KurrentDB contract suite, with KURRENTDB_URL).
 */
describe('EventIdIndex', () => {
  const schema = uniqueName('idx');
  let index: EventIdIndex;
  beforeAll(async () => {
    index = EventIdIndex.open(testDatabaseUrl(), schema);
    await index.init();
    await EventIdIndex.open(testDatabaseUrl(), schema).init(); // a second process: idempotent
  });
  afterAll(async () => {
    await index.close();
    await dropSchemas(schema);
  });

  it('pins an id to the first stream it is appended to; a later append elsewhere sees that pin', async () => {
    const id = randomUUID();
    expect(await index.pin([{ id, stream: 'usagepark-t1_inst' }])).toEqual(new Set([id]));
    expect(await index.pin([{ id, stream: 'usage-t1_acme.2026-11' }])).toEqual(new Set());
    const seen = await index.whileLocked([id], new Set(), async (pins) => ({ result: pins.get(id), held: [] }));
    expect(seen).toMatchObject({ stream: 'usagepark-t1_inst', state: 'pending', fresh: false });
  });

  it('marks what the work says the ledger holds as written, and only if the work succeeded', async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    const fresh = await index.pin([
      { id: a, stream: 's' },
      { id: b, stream: 's' },
    ]);
    await expect(
      index.whileLocked([a, b], fresh, async () => Promise.reject(new Error('KurrentDB unreachable'))),
    ).rejects.toThrow('unreachable');
    const states = async () =>
      index.whileLocked([a, b], new Set(), async (pins) => ({
        result: [pins.get(a)?.state, pins.get(b)?.state],
        held: [],
      }));
    expect(await states()).toEqual(['pending', 'pending']);
    await index.whileLocked([a, b], new Set(), async () => ({ result: undefined, held: [a] }));
    expect(await states()).toEqual(['written', 'pending']);
  });

  it('queues concurrent appenders of the same id: the second sees what the first wrote', async () => {
    const id = randomUUID();
    const fresh = await index.pin([{ id, stream: 's' }]);
    let release!: () => void;
    const first = index.whileLocked([id], fresh, async () => {
      await new Promise<void>((resolve) => (release = resolve));
      return { result: 'first', held: [id] };
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = index.whileLocked([id], new Set(), async (pins) => ({ result: pins.get(id)?.state, held: [] }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    expect(await first).toBe('first');
    expect(await second).toBe('written');
  });

  it('forgets pins older than the retention', async () => {
    const id = randomUUID();
    await index.pin([{ id, stream: 's' }]);
    expect(await index.prune(new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await index.pin([{ id, stream: 'other' }])).toEqual(new Set([id]));
  });
});
