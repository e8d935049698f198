import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nats-io/transport-node';
import { billableUsageSubject } from '@tally/contracts/meters';
import { ingestionStream, usageReceivedSubject } from '@tally/contracts/usage';
import { decodeJson, Delivery, encodeJson, JetStreamBus } from '@tally/shared/data-access-messaging';
import { eventually, ScratchNats } from '@tally/shared/testing';
import { App, apps, authorizationBlock } from './permissions';

/**
 * NATS with per-app users, on a server of the test's own: nobody connects without a credential, and each
 * app may use only its subjects — attribution cannot record usage, invoicing cannot answer usage queries.
 */
describe('NATS credentials and per-app permissions', () => {
  const namespace = 'perm';
  const passwords = Object.fromEntries(apps.map((app) => [app, randomBytes(18).toString('base64url')])) as Record<
    App,
    string
  >;
  let nats: ScratchNats;
  const buses: JetStreamBus[] = [];
  const busOf = async (app: App) => {
    const bus = await JetStreamBus.connect({ servers: nats.url, namespace, user: app, pass: passwords[app] });
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    nats = await ScratchNats.create({
      authorization: authorizationBlock(namespace, (app) => `"${passwords[app]}"`),
      user: { user: 'ingestion', pass: passwords.ingestion },
    });
  });
  afterAll(async () => {
    for (const bus of buses) await bus.close().catch(() => undefined);
    await nats?.destroy();
  });

  it('refuses a connection without a credential, or with a wrong one', async () => {
    await expect(connect({ servers: nats.url, reconnect: false })).rejects.toThrow(/authorization/i);
    await expect(
      connect({ servers: nats.url, reconnect: false, user: 'attribution', pass: 'not-the-password' }),
    ).rejects.toThrow(/authorization/i);
  });

  it('lets ingestion publish usage and attribution consume it; refuses attribution publishing usage', async () => {
    const ingestion = await busOf('ingestion');
    await ingestion.ensureStream(ingestionStream);
    const attribution = await busOf('attribution');
    await attribution.ensureStream(ingestionStream); // unchanged: declaring it needs no right to change it
    const seen: Delivery[] = [];
    await attribution.consume(
      { stream: ingestionStream.name, durable: 'attribution_ledger', filterSubject: usageReceivedSubject },
      async (batch) => void seen.push(...batch),
    );
    await ingestion.publish(usageReceivedSubject, encodeJson({ n: 1 }), { msgId: randomUUID() });
    await eventually(
      async () => seen.length,
      (n) => n === 1,
    );
    // A process holding attribution's credential cannot bill anyone.
    await expect(
      attribution.publish(usageReceivedSubject, encodeJson({ n: 2 }), { msgId: randomUUID() }),
    ).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seen.map((d) => decodeJson<{ n: number }>(d.data).n)).toEqual([1]);
    expect(attribution.consumerStatuses().every((c) => c.state === 'running')).toBe(true);
  });

  it('lets aggregation answer usage queries and invoicing ask them; refuses invoicing answering them', async () => {
    const aggregation = await busOf('aggregation');
    const invoicing = await busOf('invoicing');
    await aggregation.serveRequests(billableUsageSubject, 'aggregation_billable_usage', async () => ({
      data: encodeJson({ ok: true }),
    }));
    const answer = await invoicing.request(billableUsageSubject, encodeJson({}), { timeoutMs: 2_000 });
    expect(decodeJson(answer.data)).toEqual({ ok: true });
    // An impostor subscription is refused by the server: it never sees a request.
    const errors: unknown[] = [];
    const nc = await connect({ servers: nats.url, user: 'invoicing', pass: passwords.invoicing });
    nc.subscribe(`${namespace}.${billableUsageSubject}`, {
      callback: (error) => {
        if (error) errors.push(error);
      },
    });
    await eventually(
      async () => errors.length,
      (n) => n > 0,
      5_000,
    );
    expect(String(errors[0])).toMatch(/permissions violation/i);
    await nc.close();
  });
});
