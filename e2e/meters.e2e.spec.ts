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

  /** Aggregation's log lines: a reply must be sent once. */
  const aggregationLog: string[] = [];

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, {}, undefined, (line) => {
        if (app === 'aggregation') aggregationLog.push(line);
      });
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('creates a meter (201, as OpenMeter has it), takes the same definition again (201, the same meter) and refuses another under the same slug (409)', async () => {
    const created = await meters('POST', '', gbSeconds);
    expect(created).toMatchObject({ status: 201, body: gbSeconds });
    // OpenMeter's Meter: a ULID id, createdAt and updatedAt, optional strings left out rather than null.
    expect(created.body.id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    expect(created.body.updatedAt).toBe(created.body.createdAt);
    expect('description' in created.body).toBe(false);
    expect(await meters('POST', '', gbSeconds)).toMatchObject({ status: 201, body: { id: created.body.id } });
    expect((await meters('GET', `/${created.body.id}`)).body).toEqual(created.body);
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

  it('takes a derived value (valueExpression) and a time-weighted aggregation; refuses an expression that does not parse, naming where', async () => {
    const derived = {
      slug: 'fn-gbs-derived',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueExpression: 'memoryMiB / 1024 * durationMs / 1000',
    };
    expect(await meters('POST', '', derived)).toMatchObject({ status: 201, body: derived });
    const stored = { slug: 'gb-stored', eventType: 'db.size', aggregation: 'TIME_WEIGHTED_SUM', valueProperty: '$.gb' };
    expect(await meters('POST', '', stored)).toMatchObject({ status: 201, body: stored });
    // From the beginning of time in hours: over 10,000 windows, each of which a level may fill — refused, not scanned.
    const decades = await meters('GET', '/gb-stored/query?windowSize=HOUR');
    expect(decades.status).toBe(400);
    expect(decades.body.errors.map((e: { field: string }) => e.field)).toEqual(['windowSize']);
    expect((await meters('GET', '/gb-stored/query?windowSize=DAY&from=2026-11-01T00:00:00Z')).status).toBe(200);
    const bad = await meters('POST', '', { ...derived, slug: 'bad-expr', valueExpression: 'memoryMiB % 1024' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([
      { field: 'valueExpression', message: "valueExpression is not a value expression: unexpected '%' at position 11" },
    ]);
    const both = await meters('POST', '', { ...derived, slug: 'both', valueProperty: '$.gbSeconds' });
    expect(both.status).toBe(400);
    expect(both.body.errors.map((e: { field: string }) => e.field)).toEqual(['valueProperty']);
    const counted = await meters('POST', '', { ...derived, slug: 'counted', aggregation: 'UNIQUE_COUNT' });
    expect(counted.status).toBe(400);
    expect(counted.body.errors.map((e: { message: string }) => e.message)).toEqual([
      'valueExpression derives a number: only for SUM, MIN, MAX, AVG, LATEST, TIME_WEIGHTED_SUM meters',
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
    // Listed with includeDeleted, as OpenMeter lists deleted meters: with deletedAt.
    const deleted = (await meters('GET', '?includeDeleted=true')).body.find(
      (m: { slug: string }) => m.slug === 'reads',
    );
    expect(deleted).toMatchObject({ slug: 'reads', deletedAt: expect.any(String) });
    expect(
      (await meters('POST', '', { slug: 'reads', eventType: 'kv.read', aggregation: 'SUM', valueProperty: '$.reads' }))
        .status,
    ).toBe(201);
    expect((await meters('DELETE', '/reads')).status).toBe(204);
  });

  it('lists meters a page at a time, in the order asked (OpenMeter’s page, pageSize, order, orderBy)', async () => {
    for (const slug of ['page_a', 'page_b', 'page_c'])
      await meters('POST', '', { slug, name: `Page ${slug.at(-1)}`, eventType: `page.${slug}`, aggregation: 'COUNT' });
    const listed = await eventually(
      () => meters('GET', '?pageSize=1000'),
      (r) => r.body.filter((m: { slug: string }) => m.slug.startsWith('page_')).length === 3,
      5_000,
    );
    const slugs = listed.body.map((m: { slug: string }) => m.slug);
    expect(slugs).toEqual([...slugs].sort());
    const last = (await meters('GET', '?orderBy=key&order=DESC&pageSize=1&page=1')).body;
    expect(last.map((m: { slug: string }) => m.slug)).toEqual([[...slugs].sort().at(-1)]);
    expect((await meters('GET', `?pageSize=2&page=${Math.ceil(slugs.length / 2) + 1}`)).body).toEqual([]);
    expect((await meters('GET', '?pageSize=1001')).status).toBe(400);
    expect((await meters('GET', '?orderBy=colour')).status).toBe(400);
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
        (r) => r.body?.data?.[0]?.value === 1100.75,
        10_000,
      );
      expect(answer.body).toEqual({
        from,
        to,
        windowTimeZone: 'UTC',
        data: [{ value: 1100.75, windowStart: from, windowEnd: to, subject: null, groupBy: {} }],
      });
      expect(answer.contentType).toMatch(/^application\/json/);
      // Answered once: a handler that sent the reply and returned it too had Nest send it again, and Fastify logged
      // FST_ERR_REP_ALREADY_SENT with its stack for every JSON query (10 MB a minute under a dashboard's polling).
      expect(aggregationLog.filter((line) => /already sent|FST_ERR_REP/i.test(line))).toEqual([]);
    });

    it('writes each value as a JSON number with every digit, never through a float', async () => {
      await meters('POST', '', { slug: 'exact_sum', eventType: 'exact.v', aggregation: 'SUM', valueProperty: '$.v' });
      const exact = (id: string, v: string) => ({ ...usageEvent(id, 'inst-1', at(20)), type: 'exact.v', data: { v } });
      const sent = await http(
        'POST',
        `${apps.ingestion.url}/v1/events`,
        [exact('x-1', '12345678901234567.891'), exact('x-2', '0.1'), exact('x-3', '0.2')],
        'application/json',
        key,
      );
      expect(sent.body.accepted).toBe(3);
      const text = await eventually(
        async () => {
          const response = await fetch(queryUrl('exact_sum', 'accountId=acme'), {
            headers: { authorization: 'Bearer test-admin-token-0123456789abcdef' },
          });
          return response.text();
        },
        (body) => body.includes('"value":12345678901234568.191,'),
        10_000,
      );
      // 12345678901234567.891 + 0.1 + 0.2, exactly: a float would say 12345678901234568.
      expect(text).toContain('"value":12345678901234568.191,');
    });

    it('lists the subjects and group-by values a meter has seen, in a range (OpenMeter’s listings)', async () => {
      const list = (path: string) => http('GET', `${apps.aggregation.url}/api/v1/meters/input_tokens${path}`);
      expect((await list('/subjects')).body).toEqual(['inst-1']);
      expect((await list(`/group-by/model/values?from=${from}`)).body).toEqual(['large', 'small']);
      // q-3 (small) is at hour + 70 min; to is inclusive: a range ending at q-2 holds large and small (q-1).
      expect((await list(`/group-by/model/values?from=${from}&to=${at(10)}`)).body).toEqual(['large', 'small']);
      expect((await list(`/group-by/model/values?from=${at(11)}&to=${at(80)}`)).body).toEqual(['small']);
      expect((await list('/group-by/colour/values')).status).toBe(400);
      expect((await http('GET', `${apps.aggregation.url}/api/v1/meters/nope/subjects`)).status).toBe(404);
    });

    it('updates a meter (PUT): name, description, metadata, a new group-by key the queries then split by', async () => {
      await meters('POST', '', {
        slug: 'tokens_by',
        eventType: 'llm.tokens',
        aggregation: 'SUM',
        valueProperty: '$.tokens.input',
      });
      const updated = await meters('PUT', '/tokens_by', {
        name: 'Input tokens',
        description: 'by model',
        metadata: { team: 'ai' },
        groupBy: { model: '$.model' },
      });
      expect(updated).toMatchObject({
        status: 200,
        body: {
          slug: 'tokens_by',
          name: 'Input tokens',
          description: 'by model',
          metadata: { team: 'ai' },
          groupBy: { model: '$.model' },
        },
      });
      expect(updated.body.updatedAt > updated.body.createdAt).toBe(true);
      // Queries split by the new key at once (the facts keep the whole data; the hourly buckets are cut again).
      const byModel = await eventually(
        () => http('GET', queryUrl('tokens_by', 'accountId=acme&groupBy=model')),
        (r) => r.body?.data?.length === 2,
        10_000,
      );
      expect(
        byModel.body.data.map((d: { groupBy: { model: string }; value: number }) => [d.groupBy.model, d.value]).sort(),
      ).toEqual([
        ['large', 0.25],
        ['small', 1100.5],
      ]);
      expect((await meters('PUT', '/tokens_by', { groupBy: { model: '$.other' } })).body).toMatchObject({
        status: 400,
        type: 'https://tally.dev/problems/group-by-fixed',
      });
      expect((await meters('PUT', '/tokens_by', { name: '' })).status).toBe(400);
      expect((await meters('PUT', '/nope', { name: 'x' })).status).toBe(404);
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
