import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Consumer,
  ConsumerSpec,
  decodeJson,
  Delivery,
  encodeJson,
  MessageBus,
  PoisonMessageError,
  RequestFailedError,
} from '../message-bus.port';

/** Opens a bus on the same namespace each call: a second call is "another process" or "after a restart". */
export type OpenBus = () => Promise<MessageBus>;

/** A bus on a server of the test's own, which the test may take away (kill) and bring back. */
export interface Outage {
  open: OpenBus;
  down(): Promise<void>;
  up(): Promise<void>;
  destroy(): Promise<void>;
}

const STREAM = 'CONTRACT';
const collect = () => {
  const seen: Delivery[] = [];
  return { seen, bodies: () => seen.map((d) => decodeJson<{ n: number }>(d.data).n) };
};

/** The behaviour both MessageBus adapters must show. */
export const messageBusContract = (adapter: string, openBus: OpenBus, outage: () => Promise<Outage>) =>
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
      backoff: { initialMs: 50, maxMs: 200 },
      ...extra,
    });
    const consume = async (
      bus: MessageBus,
      s: ConsumerSpec,
      handler: (batch: readonly Delivery[]) => Promise<void>,
    ) => {
      const consumer = await bus.consume(s, handler);
      consumers.push(consumer);
      return consumer;
    };
    const send = (subject: string, n: number, msgId: string = randomUUID()) =>
      publisher.publish(subject, encodeJson({ n }), { msgId });

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
        await Promise.all(
          Array.from({ length: 250 }, (_, i) =>
            publisher.publish(subject, encodeJson({ n: start + i, padding: 'x'.repeat(40_000) }), {
              msgId: randomUUID(),
            }),
          ),
        );
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

    it('retries a transient failure without limit (never dead-letters it), showing stalled until it succeeds', async () => {
      const subject = topic();
      const s = spec(subject);
      await send(subject, 1);
      const attempts: number[] = [];
      let stalledSeen = false;
      const consumer = await consume(publisher, s, async ([d]) => {
        attempts.push(d.deliveryCount);
        if (d.deliveryCount <= 8) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      });
      await waitFor(() => {
        stalledSeen ||= consumer.status().state === 'stalled';
        return attempts.length === 9;
      }, 15_000);
      await waitFor(() => consumer.status().state === 'running');
      expect(stalledSeen).toBe(true);
      expect(attempts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]); // five deliveries used to be the limit
      expect(consumer.status()).toMatchObject({
        state: 'running',
        deadLettered: 0,
        failingMessages: 0,
        lastError: 'connect ECONNREFUSED 127.0.0.1:5432',
      });
      expect(await publisher.deadLetters.list({ consumer: s.durable })).toEqual([]);
    });

    it('counts what a consumer acked, failed and had redelivered, and says what it has pending', async () => {
      const subject = topic();
      const s = spec(subject);
      for (const n of [1, 2, 3]) await send(subject, n);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      // Message 1 fails on its first delivery (in a batch, then alone), and goes through when redelivered.
      const consumer = await consume(publisher, s, async (batch) => {
        await held;
        if (batch.some((d) => decodeJson<{ n: number }>(d.data).n === 1 && d.deliveryCount === 1))
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      });
      // Nothing acknowledged yet: all three pending (waiting, or in the handler's hands).
      await waitFor(async () => (await consumer.pending()) === 3);
      expect(await publisher.consumerPending()).toContainEqual({ durable: s.durable, pending: 3 });
      release();
      await waitFor(() => consumer.status().acked === 3);
      await waitFor(async () => (await consumer.pending()) === 0);
      expect(consumer.status()).toMatchObject({ acked: 3, failed: 1, redelivered: 1, deadLettered: 0 });
    });

    it('dead-letters a message that can never succeed at once, commits the rest of its batch, and replays it on demand', async () => {
      const subject = topic();
      const s = spec(subject, { batchSize: 10 });
      for (const n of [1, 2, 3]) await send(subject, n);
      const committed: number[] = [];
      let fixed = false;
      const consumer = await consume(publisher, s, async (batch) => {
        const bodies = batch.map((d) => decodeJson<{ n: number }>(d.data).n);
        if (bodies.includes(2) && !fixed) throw new PoisonMessageError('quantity is not a number');
        committed.push(...bodies); // the "transaction" commits only when the whole batch succeeds
      });
      await waitFor(() => committed.length === 2);
      const letters = await eventuallyList(publisher, s.durable, 1);
      expect(committed.sort()).toEqual([1, 3]);
      expect(letters).toEqual([
        expect.objectContaining({
          consumer: s.durable,
          subject,
          deliveries: 1,
          reason: 'quantity is not a number',
          body: JSON.stringify({ n: 2 }),
        }),
      ]);
      expect(consumer.status().deadLettered).toBe(1);

      // The operator fixes the cause and replays it: it is handled, and the store is empty.
      fixed = true;
      expect(await publisher.deadLetters.replay(letters[0].id)).toBe('replayed');
      await waitFor(() => committed.length === 3);
      expect(committed.sort()).toEqual([1, 2, 3]);
      expect(await publisher.deadLetters.list({ consumer: s.durable })).toEqual([]);
      // Replay is idempotent: the same id again finds nothing and publishes nothing.
      expect(await publisher.deadLetters.replay(letters[0].id)).toBe('not_found');
      expect(await publisher.deadLetters.replay('no-such-id')).toBe('not_found');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(committed.sort()).toEqual([1, 2, 3]);
    });

    it('dead-letters a message whose body does not decode (decodeJson says poison)', async () => {
      const subject = topic();
      const s = spec(subject);
      await publisher.publish(subject, new TextEncoder().encode('{not json'), { msgId: randomUUID() });
      await consume(publisher, s, async ([d]) => void decodeJson(d.data));
      const [letter] = await eventuallyList(publisher, s.durable, 1);
      expect(letter.reason).toMatch(/^message is not JSON/);
      expect(letter.body).toBe('{not json');
    });

    it('lives through its server going away: publishes fail meanwhile, the consumer stalls, then resumes by itself', async () => {
      const server = await outage();
      try {
        const bus = await server.open();
        await bus.ensureStream({ name: STREAM, subjects: ['contract.>'] });
        const subject = topic();
        const { seen, bodies } = collect();
        const consumer = await bus.consume(spec(subject), async (batch) => void seen.push(...batch));
        await bus.publish(subject, encodeJson({ n: 1 }), { msgId: randomUUID() });
        await waitFor(() => seen.length === 1);
        await server.down();
        await expect(bus.publish(subject, encodeJson({ n: 2 }), { msgId: randomUUID() })).rejects.toThrow();
        expect(await bus.reachable()).toBe(false);
        await new Promise((resolve) => setTimeout(resolve, 3_000));
        await server.up();
        await waitFor(async () => bus.reachable(), 20_000);
        await retry(() => bus.publish(subject, encodeJson({ n: 3 }), { msgId: randomUUID() }), 20_000);
        await waitFor(() => seen.length === 2, 30_000);
        expect(bodies()).toEqual([1, 3]);
        expect(consumer.status().state).toBe('running');
        await consumer.stop();
        await bus.close();
      } finally {
        await server.destroy();
      }
    }, 90_000);

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
      expect(
        publisher.publish(`nowhere.${randomUUID().slice(0, 8)}`, encodeJson({}), { msgId: randomUUID() }),
      ).rejects.toThrow());

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
      await expect(publisher.request(subject, encodeJson({}), { timeoutMs: 200 })).rejects.toMatchObject({
        reason: 'timeout',
      });
    });
  });

const waitFor = async (condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for deliveries');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

const eventuallyList = async (bus: MessageBus, durable: string, count: number) => {
  let letters = await bus.deadLetters.list({ consumer: durable });
  await waitFor(async () => (letters = await bus.deadLetters.list({ consumer: durable })).length === count, 10_000);
  return letters;
};

const retry = async <T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
};
