import { afterAll } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { testNatsUrl, uniqueName } from '@tally/shared/testing';
import { messageBusContract } from '../testing/message-bus.contract';
import { JetStreamBus } from './jetstream-bus';

const namespace = uniqueName('mb');

messageBusContract('NATS JetStream', () => JetStreamBus.connect({ servers: testNatsUrl(), namespace }));

afterAll(async () => {
  const nc = await connect({ servers: testNatsUrl() });
  const jsm = await jetstreamManager(nc);
  for await (const stream of jsm.streams.list()) {
    if (stream.config.name.startsWith(namespace.toUpperCase())) await jsm.streams.delete(stream.config.name);
  }
  await nc.close();
});
