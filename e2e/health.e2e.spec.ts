import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountStream } from '@tally/contracts/accounts';
import { ProjectionCatalog, RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { deleteStreams, startApp } from './support';

/** Liveness and readiness of one app: live while it answers; ready only while its projections keep up. */
describe('health: live and ready', () => {
  const namespace = uniqueName('health');
  let aggregation: RunningTally;
  const get = async (path: string) => {
    const response = await fetch(`${aggregation.url}${path}`);
    return { status: response.status, body: await response.json() };
  };

  beforeAll(async () => {
    aggregation = await startApp('aggregation', namespace, { TALLY_READY_MAX_BEHIND_EVENTS: '5' });
  });
  afterAll(async () => {
    await aggregation?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('is live and ready when all is well, needing no credential', async () => {
    expect(await get('/health/live')).toMatchObject({ status: 200, body: { status: 'live', apps: ['aggregation'] } });
    expect(await get('/health/ready')).toMatchObject({ status: 200, body: { status: 'ok', laggingProjections: [] } });
  });

  it('is not held back by projections that must not stop its traffic: ingestion keeps accepting whatever its status view lags', async () => {
    const ingestion = await startApp('ingestion', namespace, { TALLY_READY_MAX_BEHIND_EVENTS: '1' });
    try {
      const status = ingestion.app.get(ProjectionCatalog).get('ingestion_event_status');
      await status.stop();
      for (let i = 0; i < 3; i++)
        await ingestion.runtime.eventStore.appendToStream(`usagecorrections-default_${randomUUID()}`, [
          {
            id: randomUUID(),
            type: 'UsageVoided',
            data: {
              tenant: 'default',
              usageId: randomUUID(),
              source: '//s',
              eventId: `e${i}`,
              reason: 'r',
              correctedAt: new Date().toISOString(),
            },
          },
        ]);
      const ready = await fetch(`${ingestion.url}/health/ready`);
      expect(ready.status).toBe(200);
      await status.start();
    } finally {
      await ingestion.close();
    }
  });

  it('is not ready while a projection is further behind the ledger than the bound, live all the same; ready again once caught up', async () => {
    const rollup = aggregation.app.get(ProjectionCatalog).get('aggregation_usage_rollup');
    await rollup.stop();
    for (let i = 0; i < 6; i++) {
      const accountId = `acct-${i}`;
      await aggregation.runtime.eventStore.appendToStream(accountStream('default', accountId), [
        {
          id: randomUUID(),
          type: 'AccountOpened',
          data: {
            tenant: 'default',
            accountId,
            name: accountId,
            currency: 'EUR',
            timezone: 'UTC',
            openedAt: new Date().toISOString(),
          },
        },
      ]);
    }
    const notReady = await get('/health/ready');
    expect(notReady).toMatchObject({
      status: 503,
      body: { status: 'degraded', laggingProjections: ['aggregation_usage_rollup'] },
    });
    expect((await get('/health/live')).status).toBe(200);
    await rollup.start();
    await eventually(
      () => get('/health/ready'),
      (r) => r.status === 200,
      10_000,
    );
  });
});
