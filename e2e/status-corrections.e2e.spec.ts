import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageAmendedType, usageVoidedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, openPayingAccount, startApp, usageEvent } from './support';

/** "Accepted but never counted" can always be explained; corrections are events, and usage follows them. */
describe('event status and corrections', () => {
  const namespace = uniqueName('status');
  const apps = {} as Record<AppName, RunningTally>;
  let key: string;
  const send = (events: unknown[]) => http('POST', `${apps.ingestion.url}/v1/events`, events, 'application/json', key);
  const correct = (corrections: unknown) =>
    http('POST', `${apps.ingestion.url}/v1/events/corrections`, corrections, 'application/json', key);
  const status = (id: string, source = '//fn-runtime/eu-1', token: string = key) =>
    http(
      'GET',
      `${apps.ingestion.url}/v1/events/status?source=${encodeURIComponent(source)}&id=${encodeURIComponent(id)}`,
      undefined,
      'application/json',
      token,
    );
  const statusBecomes = (id: string, expected: string) =>
    eventually(
      () => status(id),
      (r) => r.body?.status === expected,
      10_000,
    );
  const usage = async () => {
    const from = new Date(Date.now() - 3_600_000);
    from.setUTCMinutes(0, 0, 0);
    const to = new Date(from.getTime() + 3 * 3_600_000);
    return (
      await http(
        'GET',
        `${apps.aggregation.url}/v1/usage?accountId=acme&from=${from.toISOString()}&to=${to.toISOString()}`,
      )
    ).body.totalEvents as string;
  };

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace);
    key = await createProducerKey(apps.ingestion.url);
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' });
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  describe('GET /v1/events/status', () => {
    it('follows an event from accepted to attributed, with its account and when each step happened', async () => {
      await send([usageEvent('st-1', 'inst-1')]);
      const { body } = await statusBecomes('st-1', 'attributed');
      expect(body).toMatchObject({ source: '//fn-runtime/eu-1', id: 'st-1', status: 'attributed', accountId: 'acme' });
      for (const step of ['acceptedAt', 'recordedAt', 'attributedAt'])
        expect(Date.parse(body.timestamps[step])).not.toBeNaN();
    });

    it('says parked, and why, for an unknown subject', async () => {
      await send([usageEvent('st-2', 'inst-unknown')]);
      const { body } = await statusBecomes('st-2', 'parked');
      expect(body).toMatchObject({ parkedReason: 'unknown_subject', accountId: null });
    });

    it('says rejected, with the reasons, for an event intake refused', async () => {
      await send([{ ...usageEvent('st-3', 'inst-1'), time: 'yesterday' }]);
      const { body } = await statusBecomes('st-3', 'rejected');
      expect(body.rejection).toEqual([{ field: 'time', message: expect.stringContaining('RFC 3339') }]);
    });

    it('answers 404 for an event nobody sent, 400 without source and id; the admin token may ask too', async () => {
      expect((await status('never-sent')).status).toBe(404);
      expect(
        (
          await http('GET', `${apps.ingestion.url}/v1/events/status`, undefined, 'application/json', key)
        ).body.errors.map((e: { field: string }) => e.field),
      ).toEqual(['source', 'id']);
      expect((await status('st-1', '//fn-runtime/eu-1', 'test-admin-token-0123456789abcdef')).body.status).toBe(
        'attributed',
      );
    });
  });

  describe('POST /v1/events/corrections', () => {
    it('voids an event: a UsageVoided in the ledger, usage goes down by one, once however often the void is sent', async () => {
      await send([usageEvent('cv-1', 'inst-1'), usageEvent('cv-2', 'inst-1')]);
      await statusBecomes('cv-2', 'attributed');
      const before = BigInt(await usage());
      const answer = await correct({
        action: 'void',
        source: '//fn-runtime/eu-1',
        id: 'cv-1',
        reason: 'synthetic test traffic',
      });
      expect(answer.body).toMatchObject({ accepted: 1, results: [{ index: 0, status: 'accepted' }] });
      await correct([{ action: 'void', source: '//fn-runtime/eu-1', id: 'cv-1', reason: 'synthetic test traffic' }]);
      const { body } = await statusBecomes('cv-1', 'voided');
      expect(body.voidReason).toBe('synthetic test traffic');
      await eventually(usage, (total) => BigInt(total) === before - 1n, 10_000);
      const voids = (
        await apps.ingestion.runtime.eventStore.readAll({ eventTypes: [usageVoidedType], maxCount: 100 })
      ).filter((e) => e.data.eventId === 'cv-1');
      expect(voids).toHaveLength(1);
      expect(BigInt(await usage())).toBe(before - 1n);
    });

    it('amends an event: a UsageAmended with the new data (numbers exact), the original kept', async () => {
      await send([usageEvent('ca-1', 'inst-1')]);
      await statusBecomes('ca-1', 'attributed');
      const body =
        '{"action":"amend","source":"//fn-runtime/eu-1","id":"ca-1","reason":"meter double-counted","data":{"gbSeconds":0.250000000000000001}}';
      const answer = await fetch(`${apps.ingestion.url}/v1/events/corrections`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body,
      });
      expect(answer.status).toBe(200);
      const amended = await eventually(
        async () =>
          (await apps.ingestion.runtime.eventStore.readAll({ eventTypes: [usageAmendedType], maxCount: 100 })).filter(
            (e) => e.data.eventId === 'ca-1',
          ),
        (found) => found.length === 1,
        10_000,
      );
      expect(amended[0].data).toMatchObject({
        reason: 'meter double-counted',
        data: { gbSeconds: '0.250000000000000001' },
      });
      const { body: status } = await eventually(
        () => statusBecomes('ca-1', 'attributed'),
        (r) => r.body.timestamps.amendedAt !== null,
        10_000,
      );
      expect(status.amendReason).toBe('meter double-counted');
    });

    it('keeps an event voided before it arrived out of usage', async () => {
      const before = BigInt(await usage());
      await correct({ action: 'void', source: '//fn-runtime/eu-1', id: 'cv-early', reason: 'cancelled job' });
      await statusBecomes('cv-early', 'voided');
      await send([usageEvent('cv-early', 'inst-1'), usageEvent('cv-after', 'inst-1')]);
      await statusBecomes('cv-after', 'attributed');
      await eventually(usage, (total) => BigInt(total) === before + 1n, 10_000);
      expect((await status('cv-early')).body.status).toBe('voided');
    });

    it('refuses bad corrections one by one with their fields, and sources the key may not use', async () => {
      const kvOnly = (
        await http('POST', `${apps.ingestion.url}/v1/api-keys`, { name: 'kv', allowedSources: ['//kv/*'] })
      ).body.key;
      const answer = await http(
        'POST',
        `${apps.ingestion.url}/v1/events/corrections`,
        [
          { action: 'delete', source: '//kv/a', id: 'x', reason: 'r' },
          { action: 'void', source: '//kv/a', id: 'x' },
          { action: 'void', source: '//fn/a', id: 'x', reason: 'r' },
          { action: 'void', source: '//kv/a', id: 'x', reason: 'r' },
        ],
        'application/json',
        kvOnly,
      );
      expect(
        answer.body.results.map((r: { status: string; errors?: { field: string }[] }) => [
          r.status,
          r.errors?.[0]?.field,
        ]),
      ).toEqual([
        ['rejected', 'action'],
        ['rejected', 'reason'],
        ['rejected', 'source'],
        ['accepted', undefined],
      ]);
      expect(
        (await http('POST', `${apps.ingestion.url}/v1/events/corrections`, [], 'application/json', kvOnly)).status,
      ).toBe(400);
      expect(
        (
          await http(
            'POST',
            `${apps.ingestion.url}/v1/events/corrections`,
            [{ action: 'void' }],
            'application/json',
            null,
          )
        ).status,
      ).toBe(401);
    });

    it('lets a source-scoped key read the status of its own sources only', async () => {
      const kvOnly = (
        await http('POST', `${apps.ingestion.url}/v1/api-keys`, { name: 'kv reader', allowedSources: ['//kv/*'] })
      ).body.key;
      // cv-after exists (source //fn-runtime/eu-1, attributed to an account): the kv key learns nothing of it.
      const other = await status('cv-after', '//fn-runtime/eu-1', kvOnly);
      expect(other).toMatchObject({ status: 403, body: { type: 'https://tally.dev/problems/forbidden' } });
      expect(JSON.stringify(other.body)).not.toContain('accountId');
      expect((await status('never-sent', '//fn-runtime/eu-1', kvOnly)).status).toBe(403);
      expect((await status('unknown-kv', '//kv/a', kvOnly)).status).toBe(404);
      expect((await status('cv-after', '//fn-runtime/eu-1')).status).toBe(200);
    });
  });
});
