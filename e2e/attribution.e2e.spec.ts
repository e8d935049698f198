import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageReattributedV1, usageReattributedType, UsageRecordedV1, usageRecordedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
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

const hour = 3_600_000;

/** Temporal attribution and re-attribution, across the real apps. */
describe('attribution', () => {
  const namespace = uniqueName('attr');
  const apps = {} as Record<AppName, RunningTally>;
  let key: string;
  // T: a whole hour, one to two hours ago, so that T ± 90 minutes is in the past and within the horizon.
  const T = Math.floor(Date.now() / hour) * hour - hour;
  const at = (offsetMs: number) => new Date(T + offsetMs).toISOString();
  const admin = (method: string, app: AppName, path: string, body?: unknown) =>
    http(method, `${apps[app].url}${path}`, body);
  const send = (id: string, subject: string, time: string) =>
    http('POST', `${apps.ingestion.url}/v1/events`, [usageEvent(id, subject, time)], 'application/json', key);
  const usage = async (accountId: string) =>
    BigInt(
      (
        await admin(
          'GET',
          'aggregation',
          `/v1/usage?accountId=${accountId}&windowSize=HOUR&from=${at(-3 * hour)}&to=${at(3 * hour)}`,
        )
      ).body.totalEvents,
    );
  const usageBecomes = (accountId: string, n: bigint) =>
    eventually(
      () => usage(accountId),
      (total) => total === n,
      10_000,
    );
  const urls = () => ({ invoicing: apps.invoicing.url, attribution: apps.attribution.url });
  const timelineHas = (subject: string, segments: number) =>
    eventually(
      () => admin('GET', 'attribution', `/v1/subjects/${subject}`),
      (r) => r.body?.timeline?.length === segments,
      5_000,
    );

  beforeAll(async () => {
    for (const app of ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace);
    key = await createProducerKey(apps.ingestion.url);
    for (const account of ['acme', 'globex', 'initech-x', 'hooli', 'pied']) await openPayingAccount(urls(), account);
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('splits usage at the exact instant of a transfer, and sends late usage to its owner at the time', async () => {
    await admin('PUT', 'attribution', '/v1/subjects/split-1', {
      accountId: 'acme',
      attributes: { app: 'forge-app', environment: 'production' },
    });
    expect(
      (
        await admin('PUT', 'attribution', '/v1/subjects/split-1', {
          accountId: 'globex',
          effectiveFrom: at(0),
          attributes: { app: 'forge-app', environment: 'production' },
        })
      ).status,
    ).toBe(201);
    await timelineHas('split-1', 2);
    await send('t-1ms', 'split-1', at(-1));
    await send('t-0', 'split-1', at(0));
    await send('t+1s', 'split-1', at(1_000));
    await usageBecomes('acme', 1n);
    await usageBecomes('globex', 2n);
    // Arrives now, after the transfer was recorded, but happened half an hour before it: the old owner pays.
    await send('t-30min-late', 'split-1', at(-hour / 2));
    await usageBecomes('acme', 2n);
    expect(await usage('globex')).toBe(2n);
  });

  it('enriches the ledger with the subscription, plan and subject attributes of the time', async () => {
    const recorded = await eventually(
      async () =>
        (await ledgerEvents(apps.attribution.runtime.eventStore, [usageRecordedType])).find(
          (e) => e.data.eventId === 't-1ms',
        ),
      (e) => e !== undefined,
      5_000,
    );
    const attribution = (recorded?.data as unknown as UsageRecordedV1).attribution;
    // The writer may have recorded it before seeing the transfer; what counts is where it ends.
    const moves = (await ledgerEvents(apps.attribution.runtime.eventStore, [usageReattributedType])).filter(
      (e) => e.data.usageId === recorded?.data.usageId,
    );
    const final =
      moves.length > 0 ? (moves[moves.length - 1].data as unknown as UsageReattributedV1).next : attribution;
    expect(final).toEqual({
      status: 'attributed',
      accountId: 'acme',
      subscriptionId: 'sub-acme',
      planId: 'payg-usd',
      attributes: { app: 'forge-app', environment: 'production' },
    });
  });

  it('attributes usage parked for lack of a subscription once the subscription is moved earlier — once', async () => {
    await admin('POST', 'attribution', '/v1/accounts', {
      id: 'initech',
      name: 'Initech',
      currency: 'USD',
      timezone: 'America/Chicago',
    });
    expect(
      (
        await admin('POST', 'attribution', '/v1/subscriptions', {
          id: 'sub-initech',
          accountId: 'initech',
          planId: 'payg-usd',
          startsAt: at(hour),
        })
      ).status,
    ).toBe(201);
    await admin('PUT', 'attribution', '/v1/subjects/late-sub-1', { accountId: 'initech' });
    await timelineHas('late-sub-1', 1);
    await send('before-subscription', 'late-sub-1', at(0));
    const parked = await eventually(
      () => admin('GET', 'attribution', '/v1/parked-usage'),
      (r) =>
        r.body.items.some(
          (i: { eventId: string; reason: string }) =>
            i.eventId === 'before-subscription' && i.reason === 'no_subscription',
        ),
      5_000,
    );
    expect(parked.status).toBe(200);
    const moved = await admin('POST', 'attribution', '/v1/subscriptions/sub-initech/reschedule', {
      startsAt: at(-hour),
      reason: 'contract backdated',
    });
    expect(moved.body).toMatchObject({ id: 'sub-initech', startsAt: at(-hour) });
    await admin('POST', 'attribution', '/v1/subscriptions/sub-initech/reschedule', {
      startsAt: at(-hour),
      reason: 'contract backdated',
    });
    await usageBecomes('initech', 1n);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await usage('initech')).toBe(1n);
    expect(
      (await admin('GET', 'attribution', '/v1/parked-usage')).body.items.map((i: { eventId: string }) => i.eventId),
    ).not.toContain('before-subscription');
  });

  it('a retroactive correction moves exactly the affected usage, with compensating ledger events and the reason', async () => {
    await admin('PUT', 'attribution', '/v1/subjects/fix-1', { accountId: 'hooli' });
    await timelineHas('fix-1', 1);
    for (const [id, offset] of [
      ['fix-before', -1.5 * hour],
      ['fix-inside-1', -0.5 * hour],
      ['fix-inside-2', 0.5 * hour],
    ] as const)
      await send(id, 'fix-1', at(offset));
    await usageBecomes('hooli', 3n);
    // "fix-1 belonged to pied since T-1h, not hooli"
    const corrected = await admin('POST', 'attribution', '/v1/subjects/fix-1/corrections', {
      accountId: 'pied',
      effectiveFrom: at(-hour),
      reason: 'installed by pied, registered under hooli by mistake',
    });
    expect(corrected.status).toBe(201);
    expect(corrected.body.timeline.map((s: { accountId: string }) => s.accountId)).toEqual(['hooli', 'pied']);
    await usageBecomes('pied', 2n);
    await usageBecomes('hooli', 1n);
    const moves = (await ledgerEvents(apps.attribution.runtime.eventStore, [usageReattributedType]))
      .map((e) => e.data as unknown as UsageReattributedV1)
      .filter((r) => r.subject === 'fix-1' && r.reason.startsWith('assignment corrected'));
    expect(
      moves
        .map((m) => [
          m.time,
          m.previous.status === 'attributed' && m.previous.accountId,
          m.next.status === 'attributed' && m.next.accountId,
        ])
        .sort(),
    ).toEqual(
      [
        [at(-0.5 * hour), 'hooli', 'pied'],
        [at(0.5 * hour), 'hooli', 'pied'],
      ].sort(),
    );
    expect(moves[0].reason).toBe('assignment corrected: installed by pied, registered under hooli by mistake');
    // Sending the same correction again changes nothing.
    expect(
      (
        await admin('POST', 'attribution', '/v1/subjects/fix-1/corrections', {
          accountId: 'pied',
          effectiveFrom: at(-hour),
          reason: 'installed by pied, registered under hooli by mistake',
        })
      ).status,
    ).toBe(200);
  });

  describe('bad registry input: a precise 4xx, and nothing changes', () => {
    const cases: [string, string, string, () => unknown, number, string][] = [
      [
        'a subject for an unknown account',
        'PUT',
        '/v1/subjects/bad-1',
        () => ({ accountId: 'nobody' }),
        422,
        'unknown-account',
      ],
      [
        'an account with a bad currency',
        'POST',
        '/v1/accounts',
        () => ({ id: 'bad-acct', name: 'Bad', currency: 'usd', timezone: 'UTC' }),
        400,
        'validation',
      ],
      [
        'an account with a name of a megabyte',
        'POST',
        '/v1/accounts',
        () => ({ id: 'bad-acct', name: 'n'.repeat(1024 * 1024), currency: 'USD', timezone: 'UTC' }),
        400,
        'validation',
      ],
      [
        // Three capitals that are no currency: plans refuse it, so such an account could never subscribe.
        'an account in a currency ISO 4217 does not have',
        'POST',
        '/v1/accounts',
        () => ({ id: 'bad-acct', name: 'Bad', currency: 'XYZ', timezone: 'UTC' }),
        400,
        'validation',
      ],
      [
        // Attributes are copied onto every usage event of the subject: bounded like every free text.
        'a subject with an attribute value of a megabyte',
        'PUT',
        '/v1/subjects/big-attrs',
        () => ({ accountId: 'acme', attributes: { app: 'a'.repeat(1024 * 1024) } }),
        400,
        'validation',
      ],
      [
        'a subject with 33 attributes',
        'PUT',
        '/v1/subjects/many-attrs',
        () => ({
          accountId: 'acme',
          attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])),
        }),
        400,
        'validation',
      ],
      [
        'an account with a bad timezone',
        'POST',
        '/v1/accounts',
        () => ({ id: 'bad-acct', name: 'Bad', currency: 'USD', timezone: 'Mars/Olympus' }),
        400,
        'validation',
      ],
      [
        'an account that exists with other details',
        'POST',
        '/v1/accounts',
        () => ({ id: 'acme', name: 'Not Acme', currency: 'USD', timezone: 'UTC' }),
        409,
        'account-exists',
      ],
      [
        'a subscription on an unknown plan',
        'POST',
        '/v1/subscriptions',
        () => ({ id: 'bad-sub', accountId: 'globex', planId: 'nope', startsAt: at(0) }),
        422,
        'unknown-plan',
      ],
      [
        'a subscription for an unknown account',
        'POST',
        '/v1/subscriptions',
        () => ({ id: 'bad-sub', accountId: 'nobody', planId: 'payg-usd', startsAt: at(0) }),
        422,
        'unknown-account',
      ],
      [
        'a subscription on a plan in another currency',
        'POST',
        '/v1/subscriptions',
        () => ({ id: 'bad-sub', accountId: 'eu-co', planId: 'payg-usd', startsAt: '2027-01-01T00:00:00Z' }),
        422,
        'plan-currency-mismatch',
      ],
      [
        'a reversed subscription interval',
        'POST',
        '/v1/subscriptions',
        () => ({
          id: 'bad-sub',
          accountId: 'globex',
          planId: 'payg-usd',
          startsAt: '2027-02-01T00:00:00Z',
          endsAt: '2027-01-01T00:00:00Z',
        }),
        400,
        'reversed-interval',
      ],
      [
        'an overlapping subscription',
        'POST',
        '/v1/subscriptions',
        () => ({ id: 'bad-sub', accountId: 'globex', planId: 'payg-usd', startsAt: '2026-06-01T00:00:00Z' }),
        409,
        'overlapping-subscription',
      ],
      [
        'a subscription id of another account',
        'POST',
        '/v1/subscriptions',
        () => ({ id: 'sub-acme', accountId: 'globex', planId: 'payg-usd', startsAt: '2030-01-01T00:00:00Z' }),
        409,
        'subscription-exists',
      ],
      [
        'a subject assignment that does not move forward',
        'PUT',
        '/v1/subjects/split-1',
        () => ({ accountId: 'acme', effectiveFrom: at(-hour) }),
        409,
        'assignment-not-after-latest',
      ],
      [
        'a reversed correction interval',
        'POST',
        '/v1/subjects/fix-1/corrections',
        () => ({ accountId: 'hooli', effectiveFrom: at(0), effectiveTo: at(-hour), reason: 'x' }),
        400,
        'reversed-interval',
      ],
      [
        'a correction without a reason',
        'POST',
        '/v1/subjects/fix-1/corrections',
        () => ({ accountId: 'hooli', effectiveFrom: at(0) }),
        400,
        'validation',
      ],
      [
        'a cancellation before the subscription starts',
        'POST',
        '/v1/subscriptions/sub-initech/cancel',
        () => ({ at: '2020-01-01T00:00:00Z', reason: 'x' }),
        400,
        'reversed-interval',
      ],
      [
        'a plan change to an unknown plan',
        'POST',
        '/v1/subscriptions/sub-acme/plan-changes',
        () => ({ planId: 'nope', effectiveFrom: at(0) }),
        422,
        'unknown-plan',
      ],
      [
        'a change to an unknown subscription',
        'POST',
        '/v1/subscriptions/nope/cancel',
        () => ({ at: at(0), reason: 'x' }),
        404,
        'not-found',
      ],
      [
        'a malformed timestamp',
        'POST',
        '/v1/subscriptions',
        () => ({ id: 'bad-sub', accountId: 'globex', planId: 'payg-usd', startsAt: 'monday' }),
        400,
        'validation',
      ],
    ];
    beforeAll(async () => {
      await admin('POST', 'invoicing', '/v1/plans', { id: 'payg-eur', name: 'PAYG EUR', currency: 'EUR' });
      await admin('POST', 'attribution', '/v1/accounts', {
        id: 'eu-co',
        name: 'EU Co',
        currency: 'EUR',
        timezone: 'Europe/Berlin',
      });
    });

    it.each(cases)('%s → %i %s', async (_label, method, path, body, status, type) => {
      const ledgerBefore = (await apps.attribution.runtime.eventStore.readAll({ after: 0n, maxCount: 100_000 })).length;
      const answer = await admin(method, 'attribution', path, body());
      expect(answer.status).toBe(status);
      expect(answer.contentType).toContain('application/problem+json');
      expect(answer.body.type).toBe(`https://tally.dev/problems/${type}`);
      // Nothing was written: the ledger is exactly as long as before.
      expect((await apps.attribution.runtime.eventStore.readAll({ after: 0n, maxCount: 100_000 })).length).toBe(
        ledgerBefore,
      );
    });
  });
});
