import { CloudEvent, emitterFor, httpTransport, Mode } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecordedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { connect, headers } from '@nats-io/transport-node';
import { dropSchemas, eventually, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { createProducerKey, deleteStreams, http, ledgerEvents, startApp, usageEvent } from './support';

/** Intake as producers meet it: real clients, exact numbers, and systematically bad input. */
describe('intake', () => {
  const namespace = uniqueName('intake');
  let ingestion: RunningTally;
  let attribution: RunningTally;
  let key: string;
  const post = (path: string, body: unknown, type = 'application/json') =>
    http('POST', `${ingestion.url}${path}`, body, type, key);
  const postRaw = (path: string, body: string, type: string) =>
    fetch(`${ingestion.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': type, authorization: `Bearer ${key}` },
      body,
    });
  const ledger = () => ledgerEvents(ingestion.runtime.eventStore, [usageRecordedType]);
  const recorded = async (eventId: string) => (await ledger()).filter((e) => e.data.eventId === eventId);
  const waitRecorded = (eventId: string) =>
    eventually(
      () => recorded(eventId),
      (found) => found.length > 0,
      5_000,
    );

  beforeAll(async () => {
    ingestion = await startApp('ingestion', namespace);
    attribution = await startApp('attribution', namespace);
    key = await createProducerKey(ingestion.url);
  });
  afterAll(async () => {
    await ingestion?.close();
    await attribution?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  describe('OpenMeter-compatible POST /api/v1/events', () => {
    it('takes events from the official OpenMeter SDK (single and batch): 204', async () => {
      const { OpenMeter } = await import('@openmeter/sdk');
      const client = new OpenMeter({ baseUrl: ingestion.url, token: key });
      await client.events.ingest({
        id: 'om-1',
        source: '//openmeter-sdk',
        type: 'fn.invocation',
        subject: 'inst-om',
        data: { gbSeconds: '1.5' },
      });
      await client.events.ingest([
        { id: 'om-2', source: '//openmeter-sdk', type: 'fn.invocation', subject: 'inst-om', data: { gbSeconds: 2 } },
        { id: 'om-3', source: '//openmeter-sdk', type: 'kv.read', subject: 'inst-om', data: { reads: 10 } },
      ]);
      for (const id of ['om-1', 'om-2', 'om-3']) await waitRecorded(id);
      expect((await recorded('om-2'))[0].data).toMatchObject({
        source: '//openmeter-sdk',
        subject: 'inst-om',
        data: { gbSeconds: '2' },
      });
    });

    it('takes events from the CloudEvents SDK HTTP emitter (structured mode)', async () => {
      const emit = emitterFor(httpTransport(`${ingestion.url}/api/v1/events`), { mode: Mode.STRUCTURED });
      const answer = await emit(
        new CloudEvent({
          id: 'ce-1',
          source: '//cloudevents-sdk',
          type: 'fn.invocation',
          subject: 'inst-ce',
          data: { gbSeconds: '0.25' },
        }),
        { headers: { authorization: `Bearer ${key}` } },
      );
      expect(answer).toMatchObject({ body: '' }); // 204: no body
      await waitRecorded('ce-1');
    });

    it('accepts a duplicate silently', async () => {
      const event = usageEvent('om-dup', 'inst-om');
      const first = await post('/api/v1/events', event, 'application/cloudevents+json');
      const again = await post('/api/v1/events', event, 'application/cloudevents+json');
      expect([first.status, again.status]).toEqual([204, 204]);
      await waitRecorded('om-dup');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await recorded('om-dup')).toHaveLength(1);
    });

    it('refuses a batch with an invalid event as a whole, naming each event and field', async () => {
      const response = await post(
        '/api/v1/events',
        [usageEvent('om-ok', 'inst-om'), { ...usageEvent('om-bad', 'inst-om'), time: 'noon' }, { id: 'om-worse' }],
        'application/cloudevents-batch+json',
      );
      expect(response.status).toBe(400);
      expect(response.contentType).toContain('application/problem+json');
      expect(response.body.detail).toBe('2 of 3 events are invalid; none was ingested');
      expect(response.body.errors).toEqual(
        expect.arrayContaining([
          { index: 1, field: 'time', message: expect.stringContaining('RFC 3339') },
          { index: 2, field: 'specversion', message: 'specversion must be "1.0"' },
          { index: 2, field: 'source', message: 'source is required' },
        ]),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await recorded('om-ok')).toEqual([]);
    });

    it.each([
      ['an array as application/cloudevents+json', [usageEvent('x', 'y')], 'application/cloudevents+json'],
      ['an object as application/cloudevents-batch+json', usageEvent('x', 'y'), 'application/cloudevents-batch+json'],
    ])('refuses %s', async (_label, body, type) => expect((await post('/api/v1/events', body, type)).status).toBe(400));
  });

  describe('producer API keys', () => {
    it('refuses intake without a key, with an unknown key, and with the admin token: 401 problem+json', async () => {
      for (const token of [null, 'tally_not-a-real-key', 'test-admin-token-0123456789abcdef']) {
        const response = await http(
          'POST',
          `${ingestion.url}/v1/events`,
          [usageEvent('k-1', 'inst-1')],
          'application/json',
          token,
        );
        expect(response).toMatchObject({
          status: 401,
          contentType: expect.stringContaining('application/problem+json'),
          body: { type: 'https://tally.dev/problems/unauthorized' },
        });
      }
    });

    it('refuses admin endpoints to a producer key', async () =>
      expect((await http('GET', `${ingestion.url}/v1/api-keys`, undefined, 'application/json', key)).status).toBe(401));

    it('shows the key once, lists keys without secrets, and revokes at once', async () => {
      const created = await http('POST', `${ingestion.url}/v1/api-keys`, {
        name: 'kv store',
        allowedSources: ['//kv/*'],
      });
      expect(created.status).toBe(201);
      expect(created.body.key).toMatch(/^tally_[A-Za-z0-9_-]{43}$/);
      const listed = await http('GET', `${ingestion.url}/v1/api-keys`);
      const item = listed.body.items.find((k: { id: string }) => k.id === created.body.id);
      expect(item).toMatchObject({
        name: 'kv store',
        allowedSources: ['//kv/*'],
        prefix: created.body.key.slice(0, 12),
        revokedAt: null,
      });
      expect(JSON.stringify(listed.body)).not.toContain(created.body.key);
      expect(
        (
          await http(
            'POST',
            `${ingestion.url}/v1/events`,
            [{ ...usageEvent('k-2', 'inst-1'), source: '//kv/eu' }],
            'application/json',
            created.body.key,
          )
        ).status,
      ).toBe(200);
      const revoked = await http('DELETE', `${ingestion.url}/v1/api-keys/${created.body.id}`);
      expect(revoked.body).toMatchObject({
        id: created.body.id,
        revokedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(
        (
          await http(
            'POST',
            `${ingestion.url}/v1/events`,
            [{ ...usageEvent('k-3', 'inst-1'), source: '//kv/eu' }],
            'application/json',
            created.body.key,
          )
        ).status,
      ).toBe(401);
    });

    it('holds a key to its allowed sources: per event on /v1/events, 403 for the whole request on /api/v1/events', async () => {
      const kvOnly = (
        await http('POST', `${ingestion.url}/v1/api-keys`, { name: 'kv only', allowedSources: ['//kv/*'] })
      ).body.key;
      const mixed = [
        { ...usageEvent('k-4', 'inst-1'), source: '//kv/eu' },
        { ...usageEvent('k-5', 'inst-1'), source: '//fn/eu' },
      ];
      const native = await http('POST', `${ingestion.url}/v1/events`, mixed, 'application/json', kvOnly);
      expect(native.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
      expect(native.body.results[1].errors).toEqual([
        { field: 'source', message: 'source //fn/eu is not allowed for this API key' },
      ]);
      const openMeter = await http(
        'POST',
        `${ingestion.url}/api/v1/events`,
        mixed,
        'application/cloudevents-batch+json',
        kvOnly,
      );
      expect(openMeter).toMatchObject({
        status: 403,
        body: { type: 'https://tally.dev/problems/forbidden', errors: [{ index: 1, field: 'source' }] },
      });
    });

    it('refuses an invalid key request with the fields named', async () => {
      const response = await http('POST', `${ingestion.url}/v1/api-keys`, { name: '', allowedSources: 'everything' });
      expect(response).toMatchObject({
        status: 400,
        body: { errors: [{ field: 'name' }, { field: 'allowedSources' }] },
      });
    });
  });

  describe('NATS intake (request/reply on tally-namespace.ingestion.cmd.ingest.v1)', () => {
    const request = async (body: string, token?: string) => {
      const nc = await connect({ servers: testNatsUrl() });
      const h = headers();
      if (token) h.set('Authorization', `Bearer ${token}`);
      const reply = await nc.request(`${namespace}.ingestion.cmd.ingest.v1`, new TextEncoder().encode(body), {
        timeout: 5_000,
        headers: h,
      });
      await nc.close();
      return {
        body: JSON.parse(new TextDecoder().decode(reply.data)),
        status: reply.headers?.get('Tally-Status') || '200',
      };
    };

    it('answers per-event results like POST /v1/events, and the events are recorded', async () => {
      const reply = await request(
        JSON.stringify([usageEvent('nats-1', 'inst-1'), { ...usageEvent('nats-2', 'inst-1'), time: 'later' }]),
        key,
      );
      expect(reply.status).toBe('200');
      expect(reply.body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
      await waitRecorded('nats-1');
    });

    it('answers a problem for a missing key or malformed JSON', async () => {
      expect(await request(JSON.stringify([usageEvent('nats-3', 'inst-1')]))).toMatchObject({
        status: '401',
        body: { type: 'https://tally.dev/problems/unauthorized' },
      });
      expect(await request('{"id":', key)).toMatchObject({
        status: '400',
        body: { type: 'https://tally.dev/problems/malformed-request' },
      });
    });
  });

  describe('quantities', () => {
    it('keeps numbers exactly as sent, as decimal text, however many digits', async () => {
      const body = `{"specversion":"1.0","id":"exact-1","source":"//fn","type":"fn.invocation","subject":"inst-1","data":{"gbSeconds":12345678901234567890.123456789,"tiny":0.1,"nested":{"reads":[1e3,2]}}}`;
      const response = await postRaw('/v1/events', body, 'application/cloudevents+json');
      expect(response.status).toBe(200);
      const [event] = await waitRecorded('exact-1');
      expect(event.data.data).toEqual({
        gbSeconds: '12345678901234567890.123456789',
        tiny: '0.1',
        nested: { reads: ['1e3', '2'] },
      });
    });
  });

  describe('bad input, tried systematically', () => {
    const now = Date.now();
    const good = (id: string) => usageEvent(id, 'inst-bad');
    // Each case: a request body (raw text or JSON), its content type, the status, and what the answer names.
    const raw: [string, string, string, number, string][] = [
      ['malformed JSON', '{"id": "b1", ', 'application/json', 400, 'not valid JSON'],
      ['a trailing comma', '[{"id":"b2"},]', 'application/json', 400, 'not valid JSON'],
      [
        'NaN as a quantity',
        '{"specversion":"1.0","id":"b3","source":"//s","type":"t","subject":"s","data":{"q":NaN}}',
        'application/json',
        400,
        'not valid JSON',
      ],
      [
        'Infinity as a quantity',
        '{"specversion":"1.0","id":"b8","source":"//s","type":"t","subject":"s","data":{"q":Infinity}}',
        'application/json',
        400,
        'not valid JSON',
      ],
      [
        'a hexadecimal quantity',
        '{"specversion":"1.0","id":"b9","source":"//s","type":"t","subject":"s","data":{"q":0x10}}',
        'application/json',
        400,
        'not valid JSON',
      ],
      [
        'a key repeated with another value',
        '{"specversion":"1.0","id":"b4","id":"b5","source":"//s","type":"t","subject":"s"}',
        'application/json',
        400,
        'Duplicate key',
      ],
      ['an empty array', '[]', 'application/json', 400, 'empty'],
      ['a bare string', '"event"', 'application/json', 200, 'an event must be a JSON object'],
      ['XML', '<event/>', 'application/xml', 415, 'Unsupported Media Type'],
      ['form data', 'id=b6', 'application/x-www-form-urlencoded', 415, 'Unsupported Media Type'],
      ['text', 'b7', 'text/plain', 415, 'Unsupported Media Type'],
    ];
    it.each(raw)('%s → %i', async (_label, body, type, status, says) => {
      const response = await postRaw('/v1/events', body, type);
      expect(response.status).toBe(status);
      expect(await response.text()).toContain(says);
      if (status >= 400) expect(response.headers.get('content-type')).toContain('application/problem+json');
    });

    const events: [string, Record<string, unknown>, string, string][] = [
      ['missing id', { ...good('x'), id: undefined }, 'id', 'id is required'],
      ['number as id', { ...good('x'), id: 42 }, 'id', 'id must be a string'],
      ['object as subject', { ...good('b10'), subject: { k: 1 } }, 'subject', 'subject must be a string'],
      ['missing type', { ...good('b11'), type: undefined }, 'type', 'type is required'],
      ['an id over 256 characters', { ...good('x'.repeat(257)) }, 'id', 'id is longer than 256 characters'],
      ['a control character in source', { ...good('b12'), source: '//fn\u0007' }, 'source', 'control characters'],
      ['a lone surrogate in subject', { ...good('b13'), subject: 'inst-\ud800' }, 'subject', 'invalid unicode'],
      ['NUL inside data', { ...good('b14'), data: { note: 'a\u0000b' } }, 'data.note', 'NUL'],
      ['data over 16 KiB', { ...good('b15'), data: { blob: 'x'.repeat(17_000) } }, 'data', 'larger than 16384 bytes'],
      ['data as an array', { ...good('b16'), data: [1, 2] }, 'data', 'data must be a JSON object'],
      [
        'a time far in the past',
        { ...good('b17'), time: new Date(now - 40 * 86_400_000).toISOString() },
        'time',
        'older than the lateness horizon (35 days)',
      ],
      [
        'a time in the future',
        { ...good('b18'), time: new Date(now + 3_600_000).toISOString() },
        'time',
        'more than 5 minutes in the future',
      ],
      ['a time without offset', { ...good('b19'), time: '2026-11-25T10:00:00' }, 'time', 'RFC 3339'],
      ['a number as time', { ...good('b20'), time: 1764064800 }, 'time', 'RFC 3339'],
      ['wrong specversion', { ...good('b21'), specversion: '0.3' }, 'specversion', 'specversion must be "1.0"'],
    ];
    const neighbours: string[] = [];
    it.each(events)('%s: rejected with its field, the rest of the batch accepted', async (_label, bad, field, says) => {
      const neighbour = good(`neighbour-${neighbours.length}`);
      neighbours.push(neighbour.id);
      const response = await post('/v1/events', [bad, neighbour]);
      expect(response.status).toBe(200);
      expect(response.body.results[0]).toMatchObject({
        index: 0,
        status: 'rejected',
        errors: [{ field, message: expect.stringContaining(says) }],
      });
      expect(response.body.results[1]).toMatchObject({ index: 1, status: 'accepted' });
    });

    it('refuses a body over 5 MiB and a batch over 1,000 events', async () => {
      const huge = await postRaw('/v1/events', `[${'"x",'.repeat(1_400_000)}"x"]`, 'application/json');
      expect(huge.status).toBe(413);
      const many = await post(
        '/v1/events',
        Array.from({ length: 1_001 }, (_, i) => good(`many-${i}`)),
      );
      expect(many).toMatchObject({ status: 400, body: { type: 'https://tally.dev/problems/batch-too-large' } });
    });

    it('nothing malformed reached the ledger, and the process is still up', async () => {
      // Once every good neighbour is in the ledger, the batches that carried the bad events have been processed.
      const ids = await eventually(
        async () => new Set((await ledger()).map((e) => e.data.eventId as string)),
        (found) => neighbours.every((id) => found.has(id)),
        5_000,
      );
      expect(neighbours).toHaveLength(events.length);
      for (const bad of [
        'b1',
        'b2',
        'b3',
        'b4',
        'b5',
        'b6',
        'b7',
        'b8',
        'b9',
        'b10',
        'b11',
        'b12',
        'b13',
        'b14',
        'b15',
        'b16',
        'b17',
        'b18',
        'b19',
        'b20',
        'b21',
      ])
        expect(ids.has(bad)).toBe(false);
      expect((await http('GET', `${ingestion.url}/health`)).status).toBe(200);
    });
  });
});
