import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { budgetThresholdCrossedType } from '@tally/contracts/meters';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testNatsUrl, uniqueName } from '@tally/shared/testing';
import {
  AppName,
  createProducerKey,
  deleteStreams,
  http,
  ledgerEvents,
  openPayingAccount,
  startApp,
  usageEvent,
} from './support';

// Standard Webhooks secrets: two while rotating, each signs every delivery.
const [oldSecret, newSecret] = ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_7mY2pXqT4vB9nL3kR8sW1zC6dF0gH5jQ'];

/** Budgets alert once per threshold per period: in the ledger, on NATS, and to a signed webhook that is retried. */
describe('budgets and alerts', () => {
  const namespace = uniqueName('budget');
  const apps = {} as Record<AppName, RunningTally>;
  const received: { headers: IncomingHttpHeaders; body: string; answered: number }[] = [];
  let webhook: Server;
  let key: string;
  let sent = 0;
  const use = (gbSeconds: string) =>
    http(
      'POST',
      `${apps.ingestion.url}/v1/events`,
      [{ ...usageEvent(`u-${sent++}`, 'inst-1'), data: { gbSeconds } }],
      'application/json',
      key,
    );
  const delivered = () =>
    received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).data.threshold as number);

  beforeAll(async () => {
    // A receiver that fails its first delivery, to see the retry.
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const answered = received.length === 0 ? 500 : 200;
        received.push({ headers: request.headers, body, answered });
        response.statusCode = answered;
        response.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const address = webhook.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/alerts`;
    for (const app of ['ingestion', 'attribution', 'invoicing'] as const) apps[app] = await startApp(app, namespace);
    apps.aggregation = await startApp('aggregation', namespace, {
      TALLY_BUDGET_WEBHOOK_URL: url,
      TALLY_BUDGET_WEBHOOK_SECRET: `${oldSecret},${newSecret}`,
    });
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, {
      accountId: 'acme',
      attributes: { app: 'forge-app' },
    });
    await http('POST', `${apps.aggregation.url}/api/v1/meters`, {
      slug: 'gb_seconds',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
    });
    key = await createProducerKey(apps.ingestion.url);
    await eventually(
      () => http('GET', `${apps.attribution.url}/v1/subjects/inst-1`),
      (r) => r.status === 200,
      5_000,
    );
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await new Promise((resolve) => webhook?.close(resolve));
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('refuses budgets on an unknown meter or account, or with a bad limit', async () => {
    expect(
      (
        await http('POST', `${apps.aggregation.url}/v1/budgets`, {
          id: 'b0',
          accountId: 'acme',
          meter: 'nope',
          limit: '10',
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await http('POST', `${apps.aggregation.url}/v1/budgets`, {
          id: 'b0',
          accountId: 'nobody',
          meter: 'gb_seconds',
          limit: '10',
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await http('POST', `${apps.aggregation.url}/v1/budgets`, {
          id: 'b0',
          accountId: 'acme',
          meter: 'gb_seconds',
          limit: 'ten',
        })
      ).body.errors[0].field,
    ).toBe('limit');
  });

  it('alerts each threshold once, as usage crosses it: 50 %, then 75 and 90 % together, then 100 %', async () => {
    expect(
      (
        await http('POST', `${apps.aggregation.url}/v1/budgets`, {
          id: 'b1',
          accountId: 'acme',
          meter: 'gb_seconds',
          app: 'forge-app',
          limit: '10',
        })
      ).status,
    ).toBe(201);
    await use('6'); // 6 of 10: 60 %
    await eventually(
      () => Promise.resolve(delivered()),
      (t) => t.length === 1,
      15_000,
    );
    await use('3'); // 9 of 10: 90 %
    await eventually(
      () => Promise.resolve(delivered()),
      (t) => t.length === 3,
      15_000,
    );
    await use('2'); // 11 of 10: 110 %
    await eventually(
      () => Promise.resolve(delivered()),
      (t) => t.length === 4,
      15_000,
    );
    expect(delivered()).toEqual([50, 75, 90, 100]);
    // The first attempt was answered 500 and retried: same event id, delivered once.
    expect(received[0].answered).toBe(500);
    expect(received[1].headers['webhook-id']).toBe(received[0].headers['webhook-id']);
  }, 60_000);

  it('signs each delivery as Standard Webhooks does: a receiver holding either secret verifies it with the library', () => {
    for (const { headers, body } of received) {
      for (const secret of [oldSecret, newSecret])
        expect(() => new Webhook(secret).verify(body, headers as Record<string, string>)).not.toThrow();
      expect(() =>
        new Webhook('whsec_dGhpcy1pcy1ub3QtdGhlLXNlY3JldC1hdC1hbGwh').verify(body, headers as Record<string, string>),
      ).toThrow();
      expect(JSON.parse(body)).toMatchObject({
        type: 'BudgetThresholdCrossed',
        data: { budgetId: 'b1', accountId: 'acme', meter: 'gb_seconds', app: 'forge-app', limit: '10' },
      });
    }
  });

  it('records each alert once in the ledger and publishes it once on NATS; a rebuild alerts nothing again', async () => {
    const alerts = () => ledgerEvents(apps.aggregation.runtime.eventStore, [budgetThresholdCrossedType]);
    expect((await alerts()).map((e) => e.data.threshold)).toEqual([50, 75, 90, 100]);
    expect(
      (await http('POST', `${apps.aggregation.url}/v1/admin/projections/aggregation_usage_rollup/rebuild`, {})).status,
    ).toBe(202);
    await eventually(
      async () =>
        (await http('GET', `${apps.aggregation.url}/v1/admin/projections`)).body.projections.find(
          (p: { name: string }) => p.name === 'aggregation_usage_rollup',
        ),
      (p) => p.behind === 0 && p.position !== null,
      10_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await alerts()).toHaveLength(4);
    expect(delivered()).toHaveLength(4);
    const nc = await connect({ servers: testNatsUrl() });
    const info = await (await jetstreamManager(nc)).streams.info(`${namespace.toUpperCase()}_AGGREGATION`);
    await nc.close();
    expect(info.state.messages).toBe(4);
  });
});
