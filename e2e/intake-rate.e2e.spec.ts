import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { createProducerKey, deleteStreams, http, startApp, usageEvent } from './support';

/**
 * GET /v1/admin/intake across several ingestion processes: each counts what all of them accepted (shared state,
 * not a per-process counter). A third process whose clock runs 20 minutes ahead sees the same acceptances
 * leave the minute and the quarter hour but stay in the hour.
 */
describe('intake rate', () => {
  const namespace = uniqueName('intakerate');
  let first: RunningTally;
  let second: RunningTally;
  let later: RunningTally;
  let key: string;
  const rate = (app: RunningTally) => http('GET', `${app.url}/v1/admin/intake`);
  const send = async (app: RunningTally, ids: string[]) =>
    (
      await http(
        'POST',
        `${app.url}/v1/events`,
        ids.map((id) => usageEvent(id, 'inst-1')),
        'application/json',
        key,
      )
    ).body;

  beforeAll(async () => {
    first = await startApp('ingestion', namespace);
    second = await startApp('ingestion', namespace);
    later = await startApp('ingestion', namespace, {}, () => new Date(Date.now() + 20 * 60_000));
    key = await createProducerKey(first.url);
  });
  afterAll(async () => {
    for (const app of [first, second, later]) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('answers zeros and no newest acceptance before anything was sent', async () => {
    const answer = await rate(first);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      lastMinute: { accepted: 0, perSecond: '0.0' },
      last15Minutes: { accepted: 0, perSecond: '0.0' },
      lastHour: { accepted: 0, perSecond: '0.0' },
      newestAcceptedAt: null,
      at: expect.any(String),
    });
  });

  it('counts every process’s acceptances once, whichever process is asked', async () => {
    const a = Array.from({ length: 30 }, (_, i) => `a-${i}`);
    const b = Array.from({ length: 20 }, (_, i) => `b-${i}`);
    expect((await send(first, a)).accepted).toBe(30);
    expect((await send(second, b)).accepted).toBe(20);
    // Sent again, to the other process: duplicates, not acceptances.
    expect((await send(second, a.slice(0, 5))).accepted).toBe(0);
    // 50 in the last minute: 50 ÷ 60 = 0.83 → 0.8 per second; 50 ÷ 900 = 0.055 → 0.1; 50 ÷ 3,600 = 0.013 → 0.0
    const expected = {
      lastMinute: { accepted: 50, perSecond: '0.8' },
      last15Minutes: { accepted: 50, perSecond: '0.1' },
      lastHour: { accepted: 50, perSecond: '0.0' },
    };
    for (const app of [first, second]) {
      const answer = await eventually(
        () => rate(app),
        (r) => r.body?.lastMinute?.accepted === 50,
        10_000,
      );
      expect(answer.body).toMatchObject(expected);
      expect(Date.parse(answer.body.newestAcceptedAt)).toBeLessThanOrEqual(Date.parse(answer.body.at));
    }
  });

  it('counts each window back from its own moment: 20 minutes on, the same 50 are only in the last hour', async () => {
    const answer = await rate(later);
    expect(answer.body).toMatchObject({
      lastMinute: { accepted: 0 },
      last15Minutes: { accepted: 0 },
      lastHour: { accepted: 50, perSecond: '0.0' },
      newestAcceptedAt: (await rate(first)).body.newestAcceptedAt,
    });
  });
});
