import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, openPayingAccount, startApp, usageEvent } from './support';

/** OpenMeter-compatible meters, and usage no meter measures. */
describe('meters', () => {
  const namespace = uniqueName('meters');
  const apps = {} as Record<AppName, RunningTally>;
  const meters = (method: string, path = '', body?: unknown) =>
    http(method, `${apps.aggregation.url}/api/v1/meters${path}`, body);
  const gbSeconds = {
    slug: 'gb_seconds',
    name: 'Function GB-seconds',
    eventType: 'fn.invocation',
    aggregation: 'SUM',
    valueProperty: '$.gbSeconds',
    groupBy: { region: '$.region' },
  };

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace);
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
    expect(await meters('POST', '', { ...gbSeconds, aggregation: 'MAX' })).toMatchObject({
      status: 409,
      body: { type: 'https://tally.dev/problems/meter-exists' },
    });
    expect((await meters('GET', '/gb_seconds')).body).toMatchObject({ slug: 'gb_seconds', aggregation: 'SUM' });
    await eventually(
      () => meters('GET'),
      (r) => r.body.some((m: { slug: string }) => m.slug === 'gb_seconds'),
      5_000,
    );
  });

  it('refuses bad definitions, naming each field', async () => {
    const answer = await meters('POST', '', {
      slug: 'Bad Slug',
      eventType: '',
      aggregation: 'MEDIAN',
      groupBy: { region: '$..region' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'aggregation',
      'eventType',
      'groupBy.region',
      'slug',
    ]);
  });

  it('deletes a meter (204), then it is gone (404), and the slug can be used again', async () => {
    await meters('POST', '', { slug: 'reads', eventType: 'kv.read', aggregation: 'COUNT' });
    expect((await meters('DELETE', '/reads')).status).toBe(204);
    expect((await meters('GET', '/reads')).status).toBe(404);
    expect((await meters('DELETE', '/reads')).status).toBe(404);
    await eventually(
      () => meters('GET'),
      (r) => !r.body.some((m: { slug: string }) => m.slug === 'reads'),
      5_000,
    );
    expect(
      (await meters('POST', '', { slug: 'reads', eventType: 'kv.read', aggregation: 'SUM', valueProperty: '$.reads' }))
        .status,
    ).toBe(201);
    expect((await meters('DELETE', '/reads')).status).toBe(204);
  });

  let key: string;
  it('lists usage whose event type no meter measures — kept, counted, not lost', async () => {
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' });
    key = await createProducerKey(apps.ingestion.url);
    const kvRead = { ...usageEvent('kv-1', 'inst-1'), type: 'kv.read' };
    await http(
      'POST',
      `${apps.ingestion.url}/v1/events`,
      [usageEvent('fn-1', 'inst-1'), kvRead, { ...kvRead, id: 'kv-2' }],
      'application/json',
      key,
    );
    const listed = await eventually(
      () => http('GET', `${apps.aggregation.url}/v1/unmetered-event-types`),
      (r) =>
        r.body.items.some((i: { eventType: string; events: string }) => i.eventType === 'kv.read' && i.events === '2'),
      10_000,
    );
    expect(listed.body.items.map((i: { eventType: string }) => i.eventType)).toEqual(['kv.read']);
  });

  describe('querying (OpenMeter-compatible GET /api/v1/meters/{slug}/query)', () => {
    // Two hours back: the latest event (hour + 70 min) is then always in the past, whatever the minute now.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 2 * 3_600_000;
    const at = (minutes: number) => new Date(hour + minutes * 60_000).toISOString();
    const from = new Date(hour - 3_600_000).toISOString();
    const to = new Date(hour + 2 * 3_600_000).toISOString();
    const queryUrl = (slug: string, params: string) =>
      `${apps.aggregation.url}/api/v1/meters/${slug}/query?from=${from}&to=${to}&${params}`;

    beforeAll(async () => {
      const tokens = (id: string, minutes: number, input: string, model: string) => ({
        ...usageEvent(id, 'inst-1', at(minutes)),
        type: 'llm.tokens',
        data: { tokens: { input }, model },
      });
      const sent = await http(
        'POST',
        `${apps.ingestion.url}/v1/events`,
        [tokens('q-1', 5, '100.5', 'small'), tokens('q-2', 10, '0.25', 'large'), tokens('q-3', 70, '1000', 'small')],
        'application/json',
        key,
      );
      expect(sent.body.accepted).toBe(3);
    });

    it('back-fills: a meter created after the usage measures all of it at once', async () => {
      await meters('POST', '', {
        slug: 'input_tokens',
        eventType: 'llm.tokens',
        aggregation: 'SUM',
        valueProperty: '$.tokens.input',
        groupBy: { model: '$.model' },
      });
      const answer = await eventually(
        () => http('GET', queryUrl('input_tokens', 'accountId=acme')),
        (r) => r.body?.data?.[0]?.value === '1100.75',
        10_000,
      );
      expect(answer.body).toEqual({
        from,
        to,
        windowSize: null,
        windowTimeZone: 'UTC',
        data: [{ value: '1100.75', windowStart: from, windowEnd: to, subject: null, groupBy: {} }],
      });
    });

    it('windows by hour and groups by a key, as the OpenMeter SDK asks', async () => {
      const { OpenMeter } = await import('@openmeter/sdk');
      const client = new OpenMeter({ baseUrl: apps.aggregation.url, token: 'test-admin-token-0123456789abcdef' });
      const result = await client.meters.query('input_tokens', {
        from: new Date(from),
        to: new Date(to),
        windowSize: 'HOUR',
        groupBy: ['model'],
      });
      expect(
        result.data.map(
          (d: { value: number | string; windowStart: string; groupBy?: Record<string, string> | null }) => [
            new Date(d.windowStart).toISOString(),
            d.groupBy?.model,
            String(d.value),
          ],
        ),
      ).toEqual([
        [at(0), 'large', '0.25'],
        [at(0), 'small', '100.5'],
        [at(60), 'small', '1000'],
      ]);
    });

    it('answers CSV for Accept: text/csv', async () => {
      const response = await fetch(
        queryUrl('input_tokens', 'windowSize=HOUR&groupBy=model&filterGroupBy[model]=small'),
        { headers: { accept: 'text/csv', authorization: 'Bearer test-admin-token-0123456789abcdef' } },
      );
      expect(response.headers.get('content-type')).toContain('text/csv');
      expect(await response.text()).toBe(
        `window_start,window_end,subject,model,value\n${at(0)},${at(60)},,small,100.5\n${at(60)},${at(120)},,small,1000\n`,
      );
    });

    it('refuses bad query parameters, naming them; 404 for an unknown meter', async () => {
      const bad = await http(
        'GET',
        `${apps.aggregation.url}/api/v1/meters/input_tokens/query?windowSize=FORTNIGHT&windowTimeZone=Moon/Base&groupBy=colour&from=soon`,
      );
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'from',
        'groupBy',
        'windowSize',
        'windowTimeZone',
      ]);
      expect((await http('GET', `${apps.aggregation.url}/api/v1/meters/nope/query`)).status).toBe(404);
      // Names every object answers to are data, not keys of the meter: 400, never a 500.
      for (const query of [
        'groupBy=__proto__',
        'groupBy=toString',
        'filterGroupBy[constructor]=x',
        'filterGroupBy[__proto__]=x',
      ]) {
        expect(
          (await http('GET', `${apps.aggregation.url}/api/v1/meters/input_tokens/query?${query}`)).status,
          query,
        ).toBe(400);
      }
      // Sent as text: in a JavaScript literal __proto__ would set the prototype, not a key.
      const reserved = await fetch(`${apps.aggregation.url}/api/v1/meters`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token-0123456789abcdef' },
        body: '{"slug":"proto","eventType":"x","aggregation":"COUNT","groupBy":{"__proto__":"$.a"}}',
      });
      expect(reserved.status).toBe(400);
    });
  });
});
