import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountStream } from '@tally/contracts/accounts';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { deleteStreams, http, startApp } from './support';

/** GET /v1/accounts (search, keyset pages) and the account's locale, against a real attribution app. */
describe('account search and locale', () => {
  const namespace = uniqueName('acctsearch');
  let attribution: RunningTally;
  const api = (method: string, path: string, body?: unknown) => http(method, `${attribution.url}${path}`, body);
  const open = (id: string, name: string, extra: Record<string, unknown> = {}) =>
    api('POST', '/v1/accounts', { id, name, currency: 'EUR', timezone: 'Europe/Berlin', ...extra });
  const ids = async (query: string): Promise<string[]> =>
    (await api('GET', `/v1/accounts?${query}`)).body.accounts.map((a: { id: string }) => a.id);

  const accounts: [string, string][] = [
    ['a-acme', 'Acme Corp'],
    ['b-growth', '100% Growth'],
    ['c-hundred', '1000 Growth'],
    ['d-under', 'under_score Ltd'],
    ['e-undex', 'underXscore Ltd'],
    ['f-slash', 'back\\slash'],
    ['g-ACMEish', 'Globex'],
  ];

  beforeAll(async () => {
    attribution = await startApp('attribution', namespace);
    for (const [id, name] of accounts) expect((await open(id, name)).status).toBe(201);
    // The list reads the registry projection: wait until all of them are in.
    await eventually(
      () => ids('limit=200'),
      (listed) => listed.length === accounts.length,
      10_000,
    );
  });
  afterAll(async () => {
    await attribution?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('lists the tenant’s accounts by id with their summary', async () => {
    const page = await api('GET', '/v1/accounts');
    expect(page.status).toBe(200);
    expect(page.body.next).toBeNull();
    expect(page.body.accounts.map((a: { id: string }) => a.id)).toEqual(accounts.map(([id]) => id));
    expect(page.body.accounts[0]).toEqual({
      id: 'a-acme',
      name: 'Acme Corp',
      currency: 'EUR',
      timezone: 'Europe/Berlin',
      locale: 'en-US',
      billingAnchorDay: 1,
      openedAt: expect.any(String),
    });
  });

  it('finds a part of the id or the name, ignoring case', async () => {
    expect(await ids('search=acme')).toEqual(['a-acme', 'g-ACMEish']);
    expect(await ids('search=GROWTH')).toEqual(['b-growth', 'c-hundred']);
    expect(await ids('search=nobody')).toEqual([]);
  });

  it('takes %, _ and \\ literally (no LIKE wildcards)', async () => {
    // Unescaped, "%" would match every account, "_" any character ("underXscore"), "\" would escape the closing "%".
    expect(await ids(`search=${encodeURIComponent('0% G')}`)).toEqual(['b-growth']);
    expect(await ids(`search=${encodeURIComponent('%')}`)).toEqual(['b-growth']);
    expect(await ids(`search=${encodeURIComponent('r_s')}`)).toEqual(['d-under']);
    expect(await ids(`search=${encodeURIComponent('k\\s')}`)).toEqual(['f-slash']);
  });

  it('pages by id: `next` is the last id while more remain, then null', async () => {
    const first = await api('GET', '/v1/accounts?limit=3');
    expect(first.body.accounts.map((a: { id: string }) => a.id)).toEqual(['a-acme', 'b-growth', 'c-hundred']);
    expect(first.body.next).toBe('c-hundred');
    const second = await api('GET', '/v1/accounts?limit=3&after=c-hundred');
    expect(second.body.next).toBe('f-slash');
    const last = await api('GET', '/v1/accounts?limit=3&after=f-slash');
    expect(last.body).toMatchObject({ accounts: [{ id: 'g-ACMEish' }], next: null });
    // Exactly a page left: no empty page follows.
    expect((await api('GET', '/v1/accounts?limit=1&after=f-slash')).body.next).toBeNull();
    expect(await ids('search=under&limit=1&after=d-under')).toEqual(['e-undex']);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=201', 'limit'],
    ['search=', 'search'],
    [`search=${'x'.repeat(201)}`, 'search'],
  ])('refuses %s with a 400 naming the parameter', async (query, field) => {
    const answer = await api('GET', `/v1/accounts?${query}`);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body.errors)).toContain(field);
  });

  it('stores a canonical locale, answers it on the account and in the list', async () => {
    const opened = await open('h-sydney', 'Sydney Pty', { locale: 'en-au' });
    expect(opened).toMatchObject({ status: 201, body: { locale: 'en-AU' } });
    expect((await api('GET', '/v1/accounts/h-sydney')).body.locale).toBe('en-AU');
    await eventually(
      () => api('GET', '/v1/accounts?search=sydney'),
      (r) => r.body.accounts[0]?.locale === 'en-AU',
      5_000,
    );
    // The same opening again is a retry; another locale is other details.
    expect((await open('h-sydney', 'Sydney Pty', { locale: 'en-AU' })).status).toBe(200);
    expect((await open('h-sydney', 'Sydney Pty', { locale: 'de-DE' })).status).toBe(409);
  });

  // en-ZZ: a region Intl would quietly fall back from to plain en.
  it.each(['not a locale', 'tlh', 'en-ZZ', 'x'.repeat(36), 42])(
    'refuses the locale %s with a 400 naming it',
    async (locale) => {
      const answer = await open(`i-${randomUUID().slice(0, 8)}`, 'Bad locale', { locale });
      expect(answer.status).toBe(400);
      expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain('locale');
    },
  );

  it('reads an account opened before locales existed (no locale in its event) as en-US', async () => {
    await attribution.runtime.eventStore.appendToStream(accountStream('default', 'j-old'), [
      {
        id: randomUUID(),
        type: 'AccountOpened',
        data: {
          tenant: 'default',
          accountId: 'j-old',
          name: 'Opened long ago',
          currency: 'USD',
          timezone: 'UTC',
          openedAt: '2026-01-01T00:00:00.000Z',
        },
      },
    ]);
    expect((await api('GET', '/v1/accounts/j-old')).body).toMatchObject({ locale: 'en-US', billingAnchorDay: 1 });
    await eventually(
      () => api('GET', '/v1/accounts?search=j-old'),
      (r) => r.body.accounts.length === 1,
      5_000,
    );
    expect((await api('GET', '/v1/accounts?search=j-old')).body.accounts[0].locale).toBe('en-US');
  });
});
