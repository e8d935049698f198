import { DynamicModule } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthKind, RunningTally, RuntimeModule } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, servedRoutes, uniqueName } from '@tally/shared/testing';
import { adminToken, AppName, appModules, deleteStreams, startApp, usageEvent } from './support';
import { expectedKind } from './route-table';

const routesOf = (module: DynamicModule): string[] =>
  (module.controllers ?? []).flatMap((c) => servedRoutes(c as new (...args: never[]) => unknown));

type Role = 'none' | 'producer' | 'billing-viewer' | 'admin' | 'operator';
const roles: Role[] = ['none', 'producer', 'billing-viewer', 'admin', 'operator'];

/** The status class a role must get: 'through' (past authentication: any answer but 401/403), 401 or 403. */
const expectedFor = (kind: AuthKind, role: Role, method: string): 'through' | 401 | 403 => {
  if (kind === 'public') return 'through';
  if (role === 'none') return 401;
  const producerRoute = kind === 'producer' || kind === 'producer-or-admin';
  // Producer keys are looked up only where producers may go, and only producer keys there on `producer` routes.
  if (role === 'producer') return producerRoute ? 'through' : 401;
  if (kind === 'producer') return 401;
  const allowed: Record<Exclude<AuthKind, 'public' | 'producer'>, Role[]> = {
    operator: ['operator'],
    admin: ['operator', 'admin'],
    read: ['operator', 'admin', 'billing-viewer'],
    'producer-or-admin': method === 'get' ? ['operator', 'admin', 'billing-viewer'] : ['operator', 'admin'],
  };
  return allowed[kind].includes(role) ? 'through' : 403;
};

/**
 * Tenant-scoped administration across the four apps run as separate servers: tenants created by the
 * operator, credentials per tenant with roles, every route × every role × own and other tenant.
 */
describe('tenants, roles and credentials', () => {
  const namespace = uniqueName('tenancy');
  const apps = {} as Record<AppName, RunningTally>;
  const tokens = {} as Record<'acme' | 'globex', Record<Exclude<Role, 'none' | 'operator'>, string>>;
  const ids = {} as Record<'acme' | 'globex', { viewerCredential: string; apiKey: string }>;
  const routes = new Map<string, AppName>();

  const call = async (
    app: AppName,
    method: string,
    path: string,
    token: string | null,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${apps[app].url}${path}`, {
      method: method.toUpperCase(),
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text,
    };
  };
  const tokenOf = (tenant: 'acme' | 'globex', role: Role) =>
    role === 'none' ? null : role === 'operator' ? adminToken : tokens[tenant][role];

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const) {
      apps[app] = await startApp(app, namespace, {
        TALLY_RATE_LIMIT_PER_SECOND: '0',
        TALLY_BILLING_INTERVAL_MS: '3600000',
      });
      for (const route of routesOf(appModules[app]())) routes.set(route, app);
    }
    for (const route of routesOf(RuntimeModule.forRoot({} as never, []))) routes.set(route, 'aggregation');

    for (const tenant of ['acme', 'globex'] as const) {
      // The operator creates the tenant (idempotently) and its first admin, from any app's port.
      expect(
        (await call('attribution', 'post', '/v1/admin/tenants', adminToken, { id: tenant, name: tenant.toUpperCase() }))
          .status,
      ).toBe(201);
      expect(
        (await call('invoicing', 'post', '/v1/admin/tenants', adminToken, { id: tenant, name: tenant.toUpperCase() }))
          .status,
      ).toBe(200);
      const admin = await call(
        'invoicing',
        'post',
        '/v1/admin/credentials',
        adminToken,
        { name: `${tenant} admin`, role: 'admin' },
        { 'tally-tenant': tenant },
      );
      expect(admin).toMatchObject({
        status: 201,
        body: { tenant, role: 'admin', createdBy: 'operator', token: expect.stringMatching(/^tallyadm_/) },
      });
      // The tenant's admin does the rest.
      const viewer = await call('ingestion', 'post', '/v1/admin/credentials', admin.body.token, {
        name: `${tenant} finance`,
        role: 'billing-viewer',
      });
      expect(viewer).toMatchObject({
        status: 201,
        body: { tenant, role: 'billing-viewer', createdBy: `credential:${admin.body.id}` },
      });
      const key = await call('ingestion', 'post', '/v1/api-keys', admin.body.token, {
        name: `${tenant} producer`,
        allowedSources: ['*'],
      });
      expect(key).toMatchObject({ status: 201, body: { tenant } });
      tokens[tenant] = { admin: admin.body.token, 'billing-viewer': viewer.body.token, producer: key.body.key };
      ids[tenant] = { viewerCredential: viewer.body.id, apiKey: key.body.id };
    }
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('every route served is classified, and nothing is classified that is not served', () => {
    expect([...routes.keys()].sort()).toEqual(Object.keys(expectedKind).sort());
  });

  it('every route × every role of the own tenant: allowed through, or 401 / 403 before anything is done', async () => {
    const wrong: string[] = [];
    for (const [route, app] of routes) {
      const [method, template] = route.split(' ');
      const path = template.replace(/\{\w+\}/g, 'x');
      for (const role of roles) {
        const expected = expectedFor(expectedKind[route], role, method);
        const { status } = await call(app, method, path, tokenOf('acme', role), method === 'get' ? undefined : {});
        const ok = expected === 'through' ? status !== 401 && status !== 403 : status === expected;
        if (!ok) wrong.push(`${route} as ${role}: ${status}, expected ${expected}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every route × every role asking for another tenant (Tally-Tenant): 403, except the operator', async () => {
    const wrong: string[] = [];
    for (const [route, app] of routes) {
      if (expectedKind[route] === 'public') continue;
      const [method, template] = route.split(' ');
      const path = template.replace(/\{\w+\}/g, 'x');
      for (const role of ['producer', 'billing-viewer', 'admin', 'operator'] as const) {
        if (expectedFor(expectedKind[route], role, method) !== 'through') continue;
        const { status } = await call(app, method, path, tokenOf('acme', role), method === 'get' ? undefined : {}, {
          'tally-tenant': 'globex',
        });
        const ok = role === 'operator' ? status !== 401 && status !== 403 : status === 403;
        if (!ok) wrong.push(`${route} as acme's ${role} for globex: ${status}`);
      }
    }
    expect(wrong).toEqual([]);
    // The operator may name only tenants that exist.
    expect(
      (await call('attribution', 'get', '/v1/accounts/x', adminToken, undefined, { 'tally-tenant': 'nosuchtenant' }))
        .status,
    ).toBe(404);
  });

  it("another tenant's resources: invisible and untouchable by id, absent from lists, for every route that names one", async () => {
    const globex = tokens.globex.admin;
    // globex's resources, made by globex's admin. acme holds a meter of the same slug (slugs are per tenant).
    const meter = {
      slug: 'gbsec',
      name: 'GB-seconds',
      eventType: 'fn.invocation',
      aggregation: 'SUM',
      valueProperty: '$.gbSeconds',
    };
    expect((await call('aggregation', 'post', '/api/v1/meters', globex, meter)).status).toBe(201);
    expect(
      (await call('aggregation', 'post', '/api/v1/meters', tokens.acme.admin, { ...meter, name: 'acme GB-seconds' }))
        .status,
    ).toBe(201);
    expect(
      (await call('invoicing', 'post', '/v1/plans', globex, { id: 'gplan', name: 'Globex plan', currency: 'USD' }))
        .status,
    ).toBe(201);
    expect(
      (
        await call('attribution', 'post', '/v1/accounts', globex, {
          id: 'gacct',
          name: 'Globex account',
          currency: 'USD',
          timezone: 'UTC',
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call('attribution', 'post', '/v1/subscriptions', globex, {
          id: 'gsub',
          accountId: 'gacct',
          planId: 'gplan',
          startsAt: '2026-01-01T00:00:00Z',
        })
      ).status,
    ).toBe(201);
    expect((await call('attribution', 'put', '/v1/subjects/gsubject', globex, { accountId: 'gacct' })).status).toBe(
      201,
    );
    await eventually(
      () =>
        call('aggregation', 'post', '/v1/budgets', globex, {
          id: 'gbudget',
          accountId: 'gacct',
          meter: 'gbsec',
          limit: '100',
        }),
      (r) => r.status === 201,
      5_000,
    );

    const acme = tokens.acme.admin;
    const byId: [AppName, string, string, unknown?][] = [
      ['attribution', 'get', '/v1/accounts/gacct'],
      ['attribution', 'get', '/v1/subscriptions/gsub'],
      ['attribution', 'post', '/v1/subscriptions/gsub/cancel', { endsAt: '2026-12-31T00:00:00Z' }],
      [
        'attribution',
        'post',
        '/v1/subscriptions/gsub/plan-changes',
        { planId: 'gplan', effectiveFrom: '2026-12-31T00:00:00Z' },
      ],
      ['attribution', 'post', '/v1/subscriptions/gsub/reschedule', { startsAt: '2026-02-01T00:00:00Z' }],
      ['attribution', 'get', '/v1/subjects/gsubject'],
      [
        'attribution',
        'post',
        '/v1/subscriptions',
        { id: 'asub', accountId: 'gacct', planId: 'gplan', startsAt: '2026-01-01T00:00:00Z' },
      ],
      ['aggregation', 'get', '/v1/accounts/gacct/usage'],
      ['aggregation', 'get', '/v1/budgets/gbudget'],
      ['aggregation', 'delete', '/v1/budgets/gbudget'],
      ['invoicing', 'get', '/v1/plans/gplan'],
      ['invoicing', 'post', '/v1/plans/gplan/versions', { effectiveFrom: '2026-12-31T00:00:00Z', charges: [] }],
      ['invoicing', 'get', '/v1/accounts/gacct/upcoming-invoice'],
      ['ingestion', 'delete', `/v1/api-keys/${ids.globex.apiKey}`],
      ['aggregation', 'delete', `/v1/admin/credentials/${ids.globex.viewerCredential}`],
    ];
    for (const [app, method, path, body] of byId) {
      const theirs = await call(app, method, path, acme, body);
      expect({ path, method, status: theirs.status }).toMatchObject({
        path,
        method,
        status: expect.toSatisfy((s: number) => s >= 400 && s !== 500),
      });
    }
    // Nothing of globex was changed by those attempts: its admin still sees it all, and its credentials work.
    expect((await call('attribution', 'get', '/v1/subscriptions/gsub', globex)).body).toMatchObject({
      id: 'gsub',
      endsAt: null,
    });
    expect((await call('aggregation', 'get', '/v1/budgets/gbudget', globex)).status).toBe(200);
    expect((await call('invoicing', 'get', '/v1/plans/gplan', globex)).status).toBe(200);
    expect((await call('attribution', 'get', '/v1/accounts/gacct', tokens.globex['billing-viewer'])).status).toBe(200);
    // Lists hold only the caller's tenant.
    const acmeCredentials = (await call('invoicing', 'get', '/v1/admin/credentials', acme)).body.credentials;
    expect(acmeCredentials.map((c: { tenant: string }) => c.tenant)).toEqual(['acme', 'acme']);
    expect(
      (await call('ingestion', 'get', '/v1/api-keys', acme)).body.items.map((k: { tenant: string }) => k.tenant),
    ).toEqual(['acme']);
    await eventually(
      () => call('attribution', 'get', '/v1/accounts?search=gacct', globex),
      (r) => r.body.accounts?.length === 1,
      5_000,
    );
    expect((await call('attribution', 'get', '/v1/accounts?search=gacct', acme)).body.accounts).toEqual([]);
    const acmeMeters = (await call('aggregation', 'get', '/api/v1/meters', acme)).body;
    expect(acmeMeters.map((m: { name: string }) => m.name)).toEqual(['acme GB-seconds']);
  });

  it("a tenant's usage is counted in its own meters only", async () => {
    const window = `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}`;
    const sent = await call('ingestion', 'post', '/v1/events', tokens.globex.producer, [
      { ...usageEvent('g-1', 'gsubject'), data: { gbSeconds: '2.5' } },
    ]);
    expect(sent.body.results[0].status).toBe('accepted');
    const total = (token: string) =>
      call('aggregation', 'get', `/api/v1/meters/gbsec/query?${window}`, token).then((r) =>
        r.body.data.map((d: { value: string }) => d.value),
      );
    await eventually(
      () => total(tokens.globex['billing-viewer']),
      (values) => values.join() === '2.5',
      10_000,
    );
    expect(await total(tokens.acme['billing-viewer'])).toEqual([]);
    // The intake rate too: globex's acceptance, not acme's.
    const accepted = (token: string) =>
      call('ingestion', 'get', '/v1/admin/intake', token).then((r) => r.body.lastHour.accepted);
    await eventually(
      () => accepted(tokens.globex['billing-viewer']),
      (n) => n === 1,
      10_000,
    );
    expect(await accepted(tokens.acme['billing-viewer'])).toBe(0);
    // acme's producer key cannot read globex's event, nor can acme's admin.
    const status = (token: string) =>
      call('ingestion', 'get', `/v1/events/status?source=${encodeURIComponent('//fn-runtime/eu-1')}&id=g-1`, token);
    expect((await status(tokens.globex['billing-viewer'])).status).toBe(200);
    expect((await status(tokens.acme.producer)).status).toBe(404);
    expect((await status(tokens.acme.admin)).status).toBe(404);
  });

  it('a billing run bills the caller tenant only', async () => {
    // A run bills what invoicing's own registry projection holds; under load it may not yet hold gsub (a later run
    // bills it). So globex's run is repeated until it sees gsub; acme's, run after that, must still see none.
    const globexRun = await eventually(
      () => call('invoicing', 'post', '/v1/admin/billing-runs', tokens.globex.admin, {}),
      (r) => r.status !== 201 || r.body.subscriptions > 0,
      10_000,
    );
    const acmeRun = await call('invoicing', 'post', '/v1/admin/billing-runs', tokens.acme.admin, {});
    expect([acmeRun.status, globexRun.status]).toEqual([201, 201]);
    expect([acmeRun.body.subscriptions, globexRun.body.subscriptions]).toEqual([0, 1]);
  });

  it('credentials: hashed, listed without secrets, last use recorded, revoked and expired ones refused at once in every app', async () => {
    const admin = tokens.acme.admin;
    const temp = await call('ingestion', 'post', '/v1/admin/credentials', admin, {
      name: 'short-lived',
      role: 'admin',
      expiresAt: new Date(Date.now() + 3_000).toISOString(),
    });
    expect(temp.status).toBe(201);
    expect((await call('attribution', 'get', '/v1/accounts/none', temp.body.token)).status).toBe(404);
    // The last use is bookkeeping written beside the request, not before its answer: it shows up moments later.
    const listing = () => call('ingestion', 'get', '/v1/admin/credentials', admin).then((r) => r.body.credentials);
    const byId = (list: { id: string; lastUsedAt: string | null }[]) => list.find((c) => c.id === temp.body.id);
    const listed = await eventually(listing, (list) => byId(list)?.lastUsedAt !== null, 5_000);
    const entry = byId(listed);
    expect(entry).toMatchObject({
      name: 'short-lived',
      prefix: temp.body.token.slice(0, 15),
      revokedAt: null,
      lastUsedAt: expect.any(String),
    });
    expect(JSON.stringify(listed)).not.toContain(temp.body.token);
    expect(JSON.stringify(listed)).not.toMatch(/hash/i);
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, Date.parse(temp.body.expiresAt) - Date.now() + 100)),
    );
    expect((await call('attribution', 'get', '/v1/accounts/none', temp.body.token)).status).toBe(401);

    const revocable = await call('ingestion', 'post', '/v1/admin/credentials', admin, {
      name: 'revocable',
      role: 'billing-viewer',
    });
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      expect((await call(app, 'get', '/v1/admin/credentials', revocable.body.token)).status).toBe(403);
    expect((await call('invoicing', 'delete', `/v1/admin/credentials/${revocable.body.id}`, admin)).body).toMatchObject(
      { revokedAt: expect.any(String) },
    );
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      expect((await call(app, 'get', '/v1/accounts/x', revocable.body.token)).status).toBe(401);
    // Bad requests are refused with the fields named.
    const bad = await call('ingestion', 'post', '/v1/admin/credentials', admin, {
      name: '',
      role: 'root',
      expiresAt: '2020-01-01T00:00:00Z',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(['name', 'role', 'expiresAt']);
    expect((await call('ingestion', 'post', '/v1/admin/tenants', adminToken, { id: 'has_underscore' })).status).toBe(
      400,
    );
  });

  it("reconciliation reads its own tenant's ledger: another tenant's meter of the same slug is not this one's", async () => {
    const [acme, globex] = [tokens.acme.admin, tokens.globex.admin];
    const meter = { slug: 'rec', eventType: 'rec.usage', aggregation: 'SUM' };
    expect((await call('aggregation', 'post', '/api/v1/meters', acme, { ...meter, valueProperty: '$.a' })).status).toBe(
      201,
    );
    // globex's meter comes later in the ledger: a reading of every tenant's ledger would take it for acme's.
    expect(
      (await call('aggregation', 'post', '/api/v1/meters', globex, { ...meter, valueProperty: '$.b' })).status,
    ).toBe(201);
    const plan = {
      id: 'rplan',
      name: 'R',
      currency: 'USD',
      charges: [{ meter: 'rec', model: 'unit', unitPrice: '1' }],
    };
    expect((await call('invoicing', 'post', '/v1/plans', acme, plan)).status).toBe(201);
    const account = { id: 'racct', name: 'R', currency: 'USD', timezone: 'UTC' };
    expect((await call('attribution', 'post', '/v1/accounts', acme, account)).status).toBe(201);
    const subscription = { id: 'rsub', accountId: 'racct', planId: 'rplan', startsAt: '2026-01-01T00:00:00Z' };
    expect((await call('attribution', 'post', '/v1/subscriptions', acme, subscription)).status).toBe(201);
    expect((await call('attribution', 'put', '/v1/subjects/rsubject', acme, { accountId: 'racct' })).status).toBe(201);
    await eventually(
      () => call('invoicing', 'get', '/v1/accounts/racct/upcoming-invoice', acme),
      (r) => r.status === 200,
      10_000,
    );
    const event = { ...usageEvent('r-1', 'rsubject'), type: 'rec.usage', data: { a: '3' } };
    expect((await call('ingestion', 'post', '/v1/events', tokens.acme.producer, [event])).body.results[0].status).toBe(
      'accepted',
    );
    await eventually(
      () => call('invoicing', 'get', '/v1/accounts/racct/upcoming-invoice', acme),
      (r) => r.body.subtotal === '3',
      10_000,
    );
    const period = new Date().toISOString().slice(0, 7);
    const started = await call('invoicing', 'post', '/v1/reconciliations', acme, { period });
    const run = await eventually(
      () => call('invoicing', 'get', `/v1/reconciliations/${started.body.id}`, acme),
      (r) => r.body.status !== 'running',
      20_000,
    );
    expect(run.body).toMatchObject({ status: 'completed', drifts: [] });
    expect(run.body.groupsCompared).toBeGreaterThan(0);
  });
});
