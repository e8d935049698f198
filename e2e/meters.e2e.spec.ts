import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, openPayingAccount, startApp, usageEvent } from './support';

/** OpenMeter-compatible meters, and usage no meter measures. */
describe('meters', () => {
  const namespace = uniqueName('meters');
  const apps = {} as Record<AppName, RunningTally>;
  const meters = (method: string, path = '', body?: unknown) => http(method, `${apps.aggregation.url}/api/v1/meters${path}`, body);
  const gbSeconds = { slug: 'gb_seconds', name: 'Function GB-seconds', eventType: 'fn.invocation', aggregation: 'SUM', valueProperty: '$.gbSeconds', groupBy: { region: '$.region' } };

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const) apps[app] = await startApp(app, namespace);
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('creates a meter (201), takes the same definition again (200) and refuses another under the same slug (409)', async () => {
    const created = await meters('POST', '', gbSeconds);
    expect(created).toMatchObject({ status: 201, body: { id: 'gb_seconds', ...gbSeconds, description: null } });
    expect((await meters('POST', '', gbSeconds)).status).toBe(200);
    expect(await meters('POST', '', { ...gbSeconds, aggregation: 'MAX' })).toMatchObject({ status: 409, body: { type: 'https://tally.dev/problems/meter-exists' } });
    expect((await meters('GET', '/gb_seconds')).body).toMatchObject({ slug: 'gb_seconds', aggregation: 'SUM' });
    await eventually(() => meters('GET'), (r) => r.body.some((m: { slug: string }) => m.slug === 'gb_seconds'), 5_000);
  });

  it('refuses bad definitions, naming each field', async () => {
    const answer = await meters('POST', '', { slug: 'Bad Slug', eventType: '', aggregation: 'MEDIAN', groupBy: { region: '$..region' } });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['aggregation', 'eventType', 'groupBy.region', 'slug']);
  });

  it('deletes a meter (204), then it is gone (404), and the slug can be used again', async () => {
    await meters('POST', '', { slug: 'reads', eventType: 'kv.read', aggregation: 'COUNT' });
    expect((await meters('DELETE', '/reads')).status).toBe(204);
    expect((await meters('GET', '/reads')).status).toBe(404);
    expect((await meters('DELETE', '/reads')).status).toBe(404);
    await eventually(() => meters('GET'), (r) => !r.body.some((m: { slug: string }) => m.slug === 'reads'), 5_000);
    expect((await meters('POST', '', { slug: 'reads', eventType: 'kv.read', aggregation: 'SUM', valueProperty: '$.reads' })).status).toBe(201);
    expect((await meters('DELETE', '/reads')).status).toBe(204);
  });

  it('lists usage whose event type no meter measures — kept, counted, not lost', async () => {
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' });
    const key = await createProducerKey(apps.ingestion.url);
    const kvRead = { ...usageEvent('kv-1', 'inst-1'), type: 'kv.read' };
    await http('POST', `${apps.ingestion.url}/v1/events`, [usageEvent('fn-1', 'inst-1'), kvRead, { ...kvRead, id: 'kv-2' }], 'application/json', key);
    const listed = await eventually(
      () => http('GET', `${apps.aggregation.url}/v1/unmetered-event-types`),
      (r) => r.body.items.some((i: { eventType: string; events: string }) => i.eventType === 'kv.read' && i.events === '2'),
      10_000,
    );
    expect(listed.body.items.map((i: { eventType: string }) => i.eventType)).toEqual(['kv.read']);
  });
});
