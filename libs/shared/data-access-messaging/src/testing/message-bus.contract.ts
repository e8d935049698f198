import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Consumer, ConsumerSpec, decodeJson, Delivery, encodeJson, MessageBus, RequestFailedError } from '../message-bus.port';

/** Opens a bus on the same namespace each call: a second call is "another process" or "after a restart". */
export type OpenBus = () => Promise<MessageBus>;

const STREAM = 'CONTRACT';
const collect = () => {
  const seen: Delivery[] = [];
  return { seen, bodies: () => seen.map((d) => decodeJson<{ n: number }>(d.data).n) };
};

/** The behaviour both MessageBus adapters must show. */
export const messageBusContract = (adapter: string, openBus: OpenBus) =>
  describe(`MessageBus contract: ${adapter}`, () => {
    const buses: MessageBus[] = [];
    const consumers: Consumer[] = [];
    const open = async () => {
      const bus = await openBus();
      buses.push(bus);
      return bus;
    };
    let publisher: MessageBus;
    beforeAll(async () => {
      publisher = await open();
      await publisher.ensureStream({ name: STREAM, subjects: ['contract.>'] });
    });
    afterAll(async () => {
      await Promise.all(consumers.map((c) => c.stop().catch(() => undefined)));
      await Promise.all(buses.map((b) => b.close().catch(() => undefined)));
    });

    const topic = () => `contract.${randomUUID().slice(0, 8)}`;
    const spec = (subject: string, extra: Partial<ConsumerSpec> = {}): ConsumerSpec => ({
      stream: STREAM,
      durable: `contract_${randomUUID().slice(0, 8)}`,
      filterSubject: subject,
      ackWaitMs: 1_000,
      backoffMs: [50],
      ...extra,
    });
    const consume = async (bus: MessageBus, s: ConsumerSpec, handler: (batch: readonly Delivery[]) => Promise<void>) => {
      const consumer = await bus.consume(s, handler);
      consumers.push(consumer);
      return consumer;
    };
    const send = (subject: string, n: number, msgId: string = randomUUID()) => publisher.publish(subject, encodeJson({ n }), { msgId });

    it('delivers published messages in order to a durable consumer, once acked never again', async () => {
      const subject = topic();
      const s = spec(subject);
      const { seen, bodies } = collect();
      for (const n of [1, 2, 3]) await send(subject, n);
      const consumer = await consume(publisher, s, async (batch) => void seen.push(...batch));
      await waitFor(() => seen.length === 3);
      await consumer.stop();
      // A restarted consumer with the same durable name has nothing left to do.
      const restarted = await consume(await open(), s, async (batch) => void seen.push(...batch));
      await send(subject, 4);
      await waitFor(() => seen.length === 4);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await restarted.stop();
      expect(bodies()).toEqual([1, 2, 3, 4]);
      expect(seen.every((d) => d.deliveryCount === 1 && d.subject === subject)).toBe(true);
    });

    it('keeps up with a sustained stream: every message handed over, in batches, none stuck behind flow control', async () => {
      const subject = topic();
      const total = 1_000;
      const seen = new Set<number>();
      let largestBatch = 0;
      await consume(publisher, spec(subject, { batchSize: 10 }), async (batch) => {
        largestBatch = Math.max(largestBatch, batch.length);
        await new Promise((resolve) => setTimeout(resolve, 20)); // a handler that takes time, as a database transaction does
        for (const d of batch) seen.add(decodeJson<{ n: number }>(d.data).n);
      });
      for (let start = 0; start < total; start += 250) {
        await Promise.all(Array.from({ length: 250 }, (_, i) => publisher.publish(subject, encodeJson({ n: start + i, padding: 'x'.repeat(40_000) }), { msgId: randomUUID() })));
      }
      await waitFor(() => seen.size === total, 20_000);
      expect(largestBatch).toBeGreaterThan(1);
      expect(largestBatch).toBeLessThanOrEqual(10);
    });

    it('detects a duplicate publish by message id and stores it once', async () => {
      const subject = topic();
      const msgId = randomUUID();
      const first = await send(subject, 1, msgId);
      const second = await send(subject, 1, msgId);
      expect([first.duplicate, second.duplicate]).toEqual([false, true]);
      expect(second.streamSequence).toBe(first.streamSequence);
      const { seen } = collect();
      await consume(publisher, spec(subject), async (batch) => void seen.push(...batch));
      await waitFor(() => seen.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen.map((d) => d.msgId)).toEqual([msgId]);
    });

    it('redelivers what a crashed consumer held, to the next process, after ackWait', async () => {
      const subject = topic();
      const s = spec(subject);
      await send(subject, 7);
      const crashing = await open();
      let received!: () => void;
      const gotIt = new Promise<void>((resolve) => (received = resolve));
      await crashing.consume(s, () => {
        received();
        return new Promise<void>(() => undefined); // never commits: the process dies first
      });
      await gotIt;
      await crashing.abort();
      const { seen, bodies } = collect();
      await consume(await open(), s, async (batch) => void seen.push(...batch));
      await waitFor(() => seen.length === 1, 10_000);
      expect(bodies()).toEqual([7]);
      expect(seen[0].deliveryCount).toBe(2);
    });

    it('retries a failed handler with backoff and acks once it succeeds', async () => {
      const subject = topic();
      await send(subject, 1);
      const attempts: number[] = [];
      await consume(publisher, spec(subject), async ([d]) => {
        attempts.push(d.deliveryCount);
        if (d.deliveryCount < 3) throw new Error('database unavailable');
      });
      await waitFor(() => attempts.length === 3);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('isolates a poison message: the rest of its batch is committed, the poison is dead-lettered after maxDeliver', async () => {
      const subject = topic();
      const s = spec(subject, { maxDeliver: 3, batchSize: 10 });
      for (const n of [1, 2, 3]) await send(subject, n);
      const committed: number[] = [];
      const attemptsOfPoison: number[] = [];
      await consume(publisher, s, async (batch) => {
        const bodies = batch.map((d) => decodeJson<{ n: number }>(d.data).n);
        if (bodies.includes(2)) {
          attemptsOfPoison.push(batch[bodies.indexOf(2)].deliveryCount);
          throw new Error('quantity is not a number');
        }
        committed.push(...bodies); // the "transaction" commits only when the whole batch succeeds
      });
      const dead = collect();
      await consume(publisher, { stream: 'DLQ', durable: `dlq_${randomUUID().slice(0, 8)}`, filterSubject: `dlq.${s.durable}` }, async (batch) => void dead.seen.push(...batch));
      await waitFor(() => dead.seen.length === 1, 10_000);
      expect(committed.sort()).toEqual([1, 3]);
      expect(Math.max(...attemptsOfPoison)).toBe(3);
      expect(dead.bodies()).toEqual([2]);
      expect(dead.seen[0].headers['Tally-Dead-Letter-Reason']).toBe('quantity is not a number');
      expect(dead.seen[0].headers['Tally-Dead-Letter-Deliveries']).toBe('3');
    });

    it('drains on close: the batch in hand finishes and is acked, nothing is redelivered', async () => {
      const subject = topic();
      const s = spec(subject);
      await send(subject, 1);
      const bus = await open();
      let release!: () => void;
      const slow = new Promise<void>((resolve) => (release = resolve));
      const handled: number[] = [];
      let started!: () => void;
      const begun = new Promise<void>((resolve) => (started = resolve));
      await bus.consume(s, async (batch) => {
        started();
        await slow;
        handled.push(...batch.map((d) => d.deliveryCount));
      });
      await begun;
      const closing = bus.close();
      release();
      await closing;
      const again = collect();
      await consume(await open(), s, async (batch) => void again.seen.push(...batch));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(handled).toEqual([1]);
      expect(again.seen).toEqual([]);
    });

    it('refuses to publish to a subject no stream captures (never a false success)', async () =>
      expect(publisher.publish(`nowhere.${randomUUID().slice(0, 8)}`, encodeJson({}), { msgId: randomUUID() })).rejects.toThrow());

    it('answers a request from the responder serving its subject, headers both ways', async () => {
      const subject = `query.${randomUUID().slice(0, 8)}`;
      const serving = await publisher.serveRequests(subject, 'contract', async (request) => ({
        data: encodeJson({ doubled: decodeJson<{ n: number }>(request.data).n * 2 }),
        headers: { 'tally-echo': request.headers['tally-tenant'] ?? '' },
      }));
      consumers.push(serving);
      const reply = await publisher.request(subject, encodeJson({ n: 21 }), { headers: { 'tally-tenant': 't1' } });
      expect(decodeJson(reply.data)).toEqual({ doubled: 42 });
      expect(reply.headers?.['tally-echo']).toBe('t1');
    });

    it('fails a request nobody serves with no_responders, and a slow one with timeout (never a hang)', async () => {
      const unserved = publisher.request(`query.${randomUUID().slice(0, 8)}`, encodeJson({}), { timeoutMs: 2_000 });
      await expect(unserved).rejects.toBeInstanceOf(RequestFailedError);
      await expect(unserved).rejects.toMatchObject({ reason: 'no_responders' });
      const subject = `query.${randomUUID().slice(0, 8)}`;
      consumers.push(await publisher.serveRequests(subject, 'contract', () => new Promise(() => undefined)));
      await expect(publisher.request(subject, encodeJson({}), { timeoutMs: 200 })).rejects.toMatchObject({ reason: 'timeout' });
    });
  });

const waitFor = async (condition: () => boolean, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for deliveries');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};
