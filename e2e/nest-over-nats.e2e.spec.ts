import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { RunningTally } from '@tally/shared/feature-runtime';
import { TallyClientsModule, UsageReporter } from '@tally/examples/nest-usage-service';
import { AppName, createProducerKey, http, openPayingAccount, startAllApps, stopAllApps } from './support';

/**
 * The example NestJS service (examples/nest-usage-service), with @nestjs/microservices' own NATS client,
 * against the four apps on JetStream: its usage is accepted and shows up in its meter query.
 */
describe('a NestJS service over NATS (ClientProxy, Transport.NATS)', () => {
  const namespace = uniqueName('nest');
  let apps = {} as Record<AppName, RunningTally>;
  let service: INestApplicationContext;
  let reporter: UsageReporter;

  const event = (id: string, gbSeconds: string | number) => ({
    specversion: '1.0' as const,
    id,
    source: '//nest-usage-service',
    type: 'fn.invocation',
    subject: 'inst-1',
    data: { gbSeconds },
  });

  beforeAll(async () => {
    apps = await startAllApps(namespace);
    const apiKey = await createProducerKey(apps.ingestion.url);
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' });
    const meter = await http('POST', `${apps.aggregation.url}/api/v1/meters`, {
      slug: 'fn_gb_seconds',
      name: 'Function GB-seconds',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
    });
    expect(meter.status).toBe(201);
    const viewer = await http('POST', `${apps.ingestion.url}/v1/admin/credentials`, {
      name: 'usage dashboard',
      role: 'billing-viewer',
    });
    expect(viewer.status).toBe(201);
    service = await NestFactory.createApplicationContext(
      TallyClientsModule.register({ servers: testNatsUrl(), namespace, apiKey, credential: viewer.body.token }),
      { logger: false, abortOnError: false },
    );
    reporter = service.get(UsageReporter);
  });

  afterAll(async () => {
    await service?.close();
    await stopAllApps(apps, namespace);
  });

  it('sends usage through its ClientProxy: Tally answers in Nest’s envelope once the events are stored', async () => {
    const answer = await reporter.report([event('nest-1', '0.5'), event('nest-2', 1.25)]);
    expect(answer).toMatchObject({ accepted: 2, duplicate: 0, rejected: 0 });
    // The same request again: a duplicate at the door. One of its events in another request: a duplicate once
    // intake knows the first copy (its status, within about a second), accepted before that — counted once in the
    // ledger either way (the meter query below still says 1.75).
    expect(await reporter.report([event('nest-1', '0.5'), event('nest-2', 1.25)])).toMatchObject({
      accepted: 0,
      duplicate: 2,
    });
    const again = await reporter.report([event('nest-1', '0.5')]);
    expect(again.accepted + again.duplicate).toBe(1);
    // An invalid event is refused on its own, with why.
    const partly = await reporter.report([event('nest-3', '0.25'), { ...event('nest-bad', '1'), type: '' }]);
    expect(partly).toMatchObject({ accepted: 1, rejected: 1 });
    expect(partly.results[1]).toMatchObject({ status: 'rejected', errors: [{ field: 'type' }] });
  });

  it('asks the meter query subject and sees its usage, exactly', async () => {
    const answer = await eventually(
      () => reporter.meterQuery({ meter: 'fn_gb_seconds', windowSize: 'DAY' }),
      (a) => a.data.reduce((sum, d) => sum + Number(d.value), 0) === 2,
      20_000,
    );
    expect(answer.data.map((d) => d.value)).toEqual(['2']); // 0.5 + 1.25 + 0.25, nest-1 once
  });

  it('gets Tally’s refusals as errors of its observable, with the problem', async () => {
    await expect(reporter.meterQuery({ meter: 'no_such_meter' })).rejects.toMatchObject({
      status: 404,
      type: 'https://tally.dev/problems/not-found',
    });
    const impostor = await NestFactory.createApplicationContext(
      TallyClientsModule.register({ servers: testNatsUrl(), namespace, apiKey: 'tally_not-a-key', credential: 'x' }),
      { logger: false, abortOnError: false },
    );
    await expect(impostor.get(UsageReporter).report([event('nest-4', '1')])).rejects.toMatchObject({
      status: 401,
      type: 'https://tally.dev/problems/unauthorized',
    });
    await expect(impostor.get(UsageReporter).meterQuery({ meter: 'fn_gb_seconds' })).rejects.toMatchObject({
      status: 401,
    });
    await impostor.close();
  });
});
