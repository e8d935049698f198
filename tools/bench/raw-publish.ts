import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { testNatsUrl } from '@tally/shared/testing';

/**
 * Raw limit of intake and freshness: async JetStream publishes of small messages (one usage event
 * each) from one client, 2,000 in flight, into a stream of the benchmark's namespace — what producers would get
 * from the broker without Tally.
 */
export const rawPublishRate = async (namespace: string, total = 50_000): Promise<number> => {
  const nc = await connect({ servers: testNatsUrl() });
  const jsm = await jetstreamManager(nc);
  const stream = `${namespace.toUpperCase()}_RAW`;
  await jsm.streams.add({ name: stream, subjects: [`${namespace}.raw.>`] });
  const js = jetstream(nc);
  const payload = new TextEncoder().encode(
    JSON.stringify({
      specversion: '1.0',
      id: 'x',
      source: '//bench',
      type: 'fn.invocation',
      subject: 'inst-1',
      data: { gbSeconds: '0.5' },
    }),
  );
  const started = performance.now();
  const window = 2_000;
  let pending: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    pending.push(js.publish(`${namespace}.raw.usage`, payload, { msgID: `raw-${i}` }));
    if (pending.length >= window) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  const rate = total / ((performance.now() - started) / 1_000);
  await jsm.streams.delete(stream);
  await nc.close();
  return rate;
};
