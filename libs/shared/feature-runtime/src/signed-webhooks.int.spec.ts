import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJson, PostgresBus } from '@tally/shared/data-access-messaging';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { startSignedWebhooks } from './ledger-relay';
import { TallyRuntime } from './runtime';
import { Metrics } from './metrics';

/** A receiver on a free port that records what it gets and answers as told. */
const receiver = async (answer: (path: string) => { status: number; location?: string }) => {
  const got: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      got.push({ path: request.url ?? '', headers: request.headers, body });
      const { status, location } = answer(request.url ?? '');
      response.writeHead(status, location ? { location } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    got,
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
};

describe('signed webhooks (Standard Webhooks)', () => {
  const schema = uniqueName('hooks');
  const [oldSecret, newSecret] = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_7mY2pXqT4vB9nL3kR8sW1zC6dF0gH5jQ'];
  let bus: PostgresBus;
  const metrics = new Metrics();
  const runtime = () => ({ bus, metrics, clock: () => new Date('2020-01-01T00:00:00Z') }) as unknown as TallyRuntime;
  const stream = { name: 'HOOKS', subjects: ['hooks.>'] };
  const send = (subject: string, id: string) =>
    bus.publish(subject, encodeJson({ id, type: 'Tested', data: {} }), { msgId: id });

  beforeAll(async () => {
    bus = new PostgresBus({ connectionString: testDatabaseUrl(), schema, pollIntervalMs: 50 });
    await bus.init();
  });
  afterAll(async () => {
    await bus.close();
    await dropSchemas(schema);
  });

  const deliveries = async (kind: string, outcome: string) =>
    (await metrics.webhookDeliveries.get()).values.find((v) => v.labels.kind === kind && v.labels.outcome === outcome)
      ?.value ?? 0;

  it('signs with every secret while rotating, with the wall clock: a receiver holding either one verifies', async () => {
    const hook = await receiver(() => ({ status: 204 }));
    const consumer = await startSignedWebhooks(runtime(), {
      kind: 'test',
      url: `${hook.url}/in`,
      secrets: [oldSecret, newSecret],
      urlVariable: 'URL',
      secretVariable: 'SECRET',
      stream,
      durable: 'hooks_rotation',
      filterSubject: 'hooks.rotation',
    });
    const id = randomUUID();
    await send('hooks.rotation', id);
    await eventually(
      async () => hook.got.length,
      (n) => n === 1,
    );
    const [{ headers, body }] = hook.got;
    expect(headers['webhook-id']).toBe(id);
    expect(String(headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [oldSecret, newSecret])
      expect(new Webhook(secret).verify(body, headers as Record<string, string>)).toMatchObject({ id });
    await consumer?.stop();
    expect(await deliveries('test', 'delivered')).toBe(1);
    await hook.close();
  });

  it('does not follow a redirect: the event is dead-lettered for a replay once the URL is fixed', async () => {
    const target = await receiver(() => ({ status: 204 }));
    const hook = await receiver(() => ({ status: 302, location: `${target.url}/elsewhere` }));
    const consumer = await startSignedWebhooks(runtime(), {
      kind: 'test',
      url: `${hook.url}/in`,
      secrets: [newSecret],
      urlVariable: 'URL',
      secretVariable: 'SECRET',
      stream,
      durable: 'hooks_redirect',
      filterSubject: 'hooks.redirect',
    });
    await send('hooks.redirect', randomUUID());
    const [letter] = await eventually(
      () => bus.deadLetters.list({ consumer: 'hooks_redirect' }),
      (l) => l.length === 1,
    );
    expect(letter.reason).toMatch(/redirected \(302\); redirects are not followed/);
    expect(hook.got).toHaveLength(1);
    expect(target.got).toEqual([]);
    expect(await deliveries('test', 'refused')).toBe(1);
    await consumer?.stop();
    await hook.close();
    await target.close();
  });
});
