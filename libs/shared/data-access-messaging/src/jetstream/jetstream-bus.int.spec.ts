import { afterAll, describe, expect, it } from 'vitest';
import { connect, headers } from '@nats-io/transport-node';
import { deleteNatsStreams, ScratchNats, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { messageBusContract } from '../testing/message-bus.contract';
import { JetStreamBus } from './jetstream-bus';

const namespace = uniqueName('mb');

messageBusContract(
  'NATS JetStream',
  () => JetStreamBus.connect({ servers: testNatsUrl(), namespace }),
  async () => {
    const nats = await ScratchNats.create();
    return {
      open: () => JetStreamBus.connect({ servers: nats.url, namespace }),
      down: () => nats.kill(),
      up: () => nats.start(),
      destroy: () => nats.destroy(),
    };
  },
);

afterAll(() => deleteNatsStreams(namespace));

describe('JetStreamBus request/reply', () => {
  it('answers requests on a namespaced subject with headers both ways', async () => {
    const bus = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
    const serving = await bus.serveRequests('test.cmd.echo.v1', 'test_echo', async (request) => ({
      data: new TextEncoder().encode(`${new TextDecoder().decode(request.data)}!`),
      headers: { 'Tally-Seen': request.headers['Authorization'] ?? 'none' },
    }));
    const nc = await connect({ servers: testNatsUrl() });
    const h = headers();
    h.set('Authorization', 'Bearer x');
    const reply = await nc.request(`${namespace}.test.cmd.echo.v1`, new TextEncoder().encode('hello'), {
      timeout: 2_000,
      headers: h,
    });
    expect(new TextDecoder().decode(reply.data)).toBe('hello!');
    expect(reply.headers?.get('Tally-Seen')).toBe('Bearer x');
    await serving.stop();
    await nc.close();
    await bus.close();
  });
});

describe('JetStreamBus answers that NATS cannot carry', () => {
  it('answers 413 with a problem when the answer exceeds max_payload, and keeps serving', async () => {
    const bus = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
    let size = 2 * 1024 * 1024; // more than the server's 1 MB max_payload
    const serving = await bus.serveRequests('test.qry.big.v1', 'test_big', async () => ({
      data: new Uint8Array(size).fill(32),
    }));
    const nc = await connect({ servers: testNatsUrl() });
    const ask = () => nc.request(`${namespace}.test.qry.big.v1`, new Uint8Array(), { timeout: 2_000 });
    const tooLarge = await ask();
    expect(tooLarge.headers?.get('Tally-Status')).toBe('413');
    expect(tooLarge.json()).toMatchObject({ status: 413, title: 'Answer too large' });
    size = 10;
    expect((await ask()).data.length).toBe(10); // the process and the responder are still there
    await nc.close();
    await serving.stop();
    await bus.close();
  });
});
