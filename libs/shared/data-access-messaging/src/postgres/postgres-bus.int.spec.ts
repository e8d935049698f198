import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, ScratchPostgres, testDatabaseUrl, uniqueName, waitUntil } from '@tally/shared/testing';
import { decodeJson, Delivery, encodeJson } from '../message-bus.port';
import { messageBusContract } from '../testing/message-bus.contract';
import { natsFilterToRegex, PostgresBus } from './postgres-bus';

const schema = uniqueName('bus');

const openBus = async (connectionString: string) => {
  const bus = new PostgresBus({ connectionString, schema, pollIntervalMs: 50 });
  await bus.init();
  return bus;
};

messageBusContract(
  'Postgres (embedded, in-process)',
  () => openBus(testDatabaseUrl()),
  async () => {
    const postgres = await ScratchPostgres.create();
    return {
      open: () => openBus(postgres.url()),
      down: () => postgres.kill(),
      up: () => postgres.start(),
      destroy: () => postgres.destroy(),
    };
  },
);

afterAll(() => dropSchemas(schema));

/**
 * Every durable claims from the one messages table. A claim used to lock the rows it took (`for update of m skip
 * locked`), so a second durable claiming at the same moment skipped a message the first one's claim held, took the
 * later ones, acked them — and its floor ("everything up to n was handed out") passed the skipped message for good:
 * an accepted event never reached the ledger (seen in embedded mode as a freshness probe never visible).
 */
describe('two durables on one stream', () => {
  /** A bus with the CLAIMS stream, a second connection that stands for another claim in progress, and what was seen. */
  const withBus = async (test: (bus: PostgresBus, holder: Client, seen: Delivery[]) => Promise<void>) => {
    const bus = await openBus(testDatabaseUrl());
    const holder = new Client({ connectionString: testDatabaseUrl() });
    await holder.connect();
    try {
      await bus.ensureStream({ name: 'CLAIMS', subjects: ['claims.>'] });
      await test(bus, holder, []);
    } finally {
      await holder.end();
      await bus.close();
    }
  };

  it('a message another durable is claiming at that moment is delivered, not skipped for good', () =>
    withBus(async (bus, holder, seen) => {
      await bus.publish('claims.x', encodeJson({ n: 1 }), { msgId: 'claims-1' });
      // The other durable's claim, frozen mid-statement: it holds message 1's row.
      await holder.query('begin');
      await holder.query(`select seq from "${schema}".messages where msg_id = 'claims-1' for update`);
      await bus.publish('claims.x', encodeJson({ n: 2 }), { msgId: 'claims-2' });
      const consumer = await bus.consume(
        { stream: 'CLAIMS', durable: 'claims_b', filterSubject: 'claims.>', ackWaitMs: 1_000 },
        async (batch) => void seen.push(...batch),
      );
      const bodies = () => seen.map((d) => decodeJson<{ n: number }>(d.data).n).sort();
      await waitUntil(
        async () => bodies().includes(2),
        10_000,
        () => `message 2 not delivered: ${bodies()}`,
      );
      await holder.query('commit');
      // Claims every 50 ms: a second is twenty of them.
      await waitUntil(
        async () => bodies().includes(1),
        1_000,
        () => `message 1 never delivered: ${bodies()}`,
        50,
      );
      expect(bodies()).toEqual([1, 2]);
      await consumer.stop();
    }));

  it('a message an earlier version skipped (the floor past it, no delivery of its own) is delivered at the next start', () =>
    withBus(async (bus, _holder, seen) => {
      const skipped = await bus.publish('claims.z', encodeJson({ n: 4 }), { msgId: 'claims-4' });
      const other = await bus.publish('claims.other', encodeJson({ n: 6 }), { msgId: 'claims-6' });
      const taken = await bus.publish('claims.z', encodeJson({ n: 5 }), { msgId: 'claims-5' });
      // What the old claim left: the later message delivered and acked, none for the one it skipped.
      await bus['pool'].query(
        `insert into "${schema}".deliveries (durable, seq, delivered, visible_at, acked) values ('claims_d', $1, 1, now(), true)`,
        [taken.streamSequence],
      );
      const consumer = await bus.consume(
        { stream: 'CLAIMS', durable: 'claims_d', filterSubject: 'claims.z', ackWaitMs: 1_000 },
        async (batch) => void seen.push(...batch),
      );
      await waitUntil(
        async () => seen.length > 0,
        5_000,
        () => 'the skipped message was never delivered',
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Only the skipped one: not the one delivered before, not another subject's below the floor.
      expect(other.streamSequence).toBeLessThan(taken.streamSequence);
      expect(seen.map((d) => d.streamSequence)).toEqual([skipped.streamSequence]);
      await consumer.stop();
    }));

  it('one claim at a time per durable, whatever process makes it: a claim waits while another holds the durable', () =>
    withBus(async (bus, holder, seen) => {
      await bus.publish('claims.y', encodeJson({ n: 3 }), { msgId: 'claims-3' });
      // Another process's claim for the same durable, in progress: it holds the durable's lock.
      await holder.query('begin');
      await holder.query('select pg_advisory_xact_lock(hashtext($1))', [`${schema}.claim.claims_c`]);
      const consumer = await bus.consume(
        { stream: 'CLAIMS', durable: 'claims_c', filterSubject: 'claims.y', ackWaitMs: 1_000 },
        async (batch) => void seen.push(...batch),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seen).toEqual([]);
      await holder.query('commit');
      await waitUntil(
        async () => seen.length === 1,
        5_000,
        () => 'never delivered after the other claim ended',
      );
      expect(decodeJson<{ n: number }>(seen[0].data).n).toBe(3);
      await consumer.stop();
    }));
});

describe('NATS subject filters in SQL', () => {
  it.each([
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b-c', 'a.b-c', true],
  ])('%s matches %s: %s', (filter, subject, expected) =>
    expect(new RegExp(natsFilterToRegex(filter)).test(subject)).toBe(expected),
  );
});
