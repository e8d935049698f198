import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { BillingRunHistory, BillingScheduler } from '@tally/invoicing/feature-billing';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, ScratchPostgres, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { adminToken, deleteStreams, startApp } from './support';

/**
 * The console's read lists on the invoicing app alone (real Postgres and NATS): plans by id, reconciliations
 * newest first, and the billing runs' history — each a page of the caller's tenant only. The history is kept
 * on the side of the run: a run answers the same with its table locked or gone.
 */
describe('invoicing lists: plans, reconciliations, billing runs', () => {
  const namespace = uniqueName('invlists');
  let invoicing: RunningTally;
  let pg: Client;
  // The clock moves one second per reconciliation, so that "newest first" is the order they were asked in.
  let now = new Date('2026-11-20T10:00:00Z');
  const other = `o${Date.now().toString(36)}`;

  /** A request as the operator, for its own tenant or (Tally-Tenant) for `tenant`. */
  const call = async (method: string, path: string, options: { body?: unknown; tenant?: string } = {}) => {
    const headers: Record<string, string> = { authorization: `Bearer ${adminToken}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.tenant) headers['tally-tenant'] = options.tenant;
    const response = await fetch(`${invoicing.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };
  const ok = async (answer: ReturnType<typeof call>) => {
    const { status, body } = await answer;
    expect(status, JSON.stringify(body)).toBeLessThan(300);
    return body;
  };
  const table = (name: string) => `"${invoicing.runtime.schemaFor('invoicing')}".${name}`;

  beforeAll(async () => {
    // The billing clock never ticks on its own here: the runs recorded are the ones the tests make.
    invoicing = await startApp('invoicing', namespace, { TALLY_BILLING_INTERVAL_MS: '86400000' }, () => now);
    pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await ok(call('POST', '/v1/admin/tenants', { body: { id: other, name: 'Other Co' } }));
  });

  afterAll(async () => {
    await pg?.end();
    await invoicing?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  describe('GET /v1/plans', () => {
    beforeAll(async () => {
      for (const id of ['plan-c', 'plan-a', 'plan-b'])
        await ok(call('POST', '/v1/plans', { body: { id, name: id.toUpperCase(), currency: 'USD' } }));
      await ok(
        call('POST', '/v1/plans/plan-a/versions', { body: { effectiveFrom: '2027-01-01T00:00:00Z', charges: [] } }),
      );
      // Another tenant's plans: one of the same id as ours, one of its own.
      for (const id of ['plan-a', 'plan-z'])
        await ok(call('POST', '/v1/plans', { body: { id, name: `other ${id}`, currency: 'EUR' }, tenant: other }));
    });

    it('pages through the plans by id, each as GET /v1/plans/{id} answers it', async () => {
      const first = await eventually(
        () => ok(call('GET', '/v1/plans?limit=2')),
        (page) => page.next !== null,
      );
      expect(first.plans.map((p: { id: string }) => p.id)).toEqual(['plan-a', 'plan-b']);
      expect(first.next).toBe('plan-b');
      const second = await ok(call('GET', `/v1/plans?limit=2&after=${first.next}`));
      expect(second).toMatchObject({ next: null });
      expect(second.plans.map((p: { id: string }) => p.id)).toEqual(['plan-c']);
      for (const plan of [...first.plans, ...second.plans])
        expect(plan).toEqual(await ok(call('GET', `/v1/plans/${plan.id}`)));
      expect(first.plans[0]).toMatchObject({ latestVersion: 2, versions: [{ version: 1 }, { version: 2 }] });
    });

    it('says no `next` when a full page is the last, and lists 50 by default', async () => {
      expect((await ok(call('GET', '/v1/plans?limit=3'))).next).toBeNull();
      const all = await ok(call('GET', '/v1/plans'));
      expect(all.plans.map((p: { id: string }) => p.id)).toEqual(['plan-a', 'plan-b', 'plan-c']);
    });

    it("lists the caller's tenant only", async () => {
      const theirs = await eventually(
        () => ok(call('GET', '/v1/plans', { tenant: other })),
        (page) => page.plans.length === 2,
      );
      expect(theirs.plans.map((p: { id: string; name: string }) => [p.id, p.name])).toEqual([
        ['plan-a', 'other plan-a'],
        ['plan-z', 'other plan-z'],
      ]);
    });

    it.each(['limit=0', 'limit=201', 'limit=ten', 'after=%20x'])(
      'refuses ?%s as a validation problem',
      async (query) => {
        const { status, body } = await call('GET', `/v1/plans?${query}`);
        expect(status).toBe(400);
        expect(body.type).toMatch(/validation$/);
      },
    );
  });

  describe('GET /v1/reconciliations', () => {
    const ids: string[] = [];

    beforeAll(async () => {
      for (const period of ['2026-08', '2026-09', '2026-10']) {
        now = new Date(now.getTime() + 1_000);
        ids.push((await ok(call('POST', '/v1/reconciliations', { body: { period } }))).id);
      }
      await ok(call('POST', '/v1/reconciliations', { body: { period: '2026-10' }, tenant: other }));
      for (const id of ids)
        await eventually(
          () => ok(call('GET', `/v1/reconciliations/${id}`)),
          (r) => r.status === 'completed',
        );
    });

    it('pages through them newest first, each its report without the drifts but with their number', async () => {
      const first = await ok(call('GET', '/v1/reconciliations?limit=2'));
      expect(first.reconciliations.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
      expect(first.next).toBe(ids[1]);
      const second = await ok(call('GET', `/v1/reconciliations?limit=2&before=${first.next}`));
      expect(second.reconciliations.map((r: { id: string }) => r.id)).toEqual([ids[0]]);
      expect(second.next).toBeNull();
      const full = await ok(call('GET', `/v1/reconciliations/${ids[0]}`));
      const { drifts, ...withoutDrifts } = full;
      expect(drifts).toEqual([]);
      expect(second.reconciliations[0]).toEqual({ ...withoutDrifts, driftCount: 0 });
    });

    it("lists the caller's tenant only", async () => {
      const theirs = await ok(call('GET', '/v1/reconciliations', { tenant: other }));
      expect(theirs.reconciliations.map((r: { period: string }) => r.period)).toEqual(['2026-10']);
      expect(theirs.reconciliations.map((r: { id: string }) => r.id)).not.toContain(ids[2]);
    });

    it('refuses a `before` that names none of the tenant’s reconciliations, or is not an id', async () => {
      const { body: theirs } = await call('GET', '/v1/reconciliations', { tenant: other });
      for (const before of [theirs.reconciliations[0].id, '00000000-0000-4000-8000-000000000000', 'nope']) {
        const { status, body } = await call('GET', `/v1/reconciliations?before=${before}`);
        expect(status, before).toBe(400);
        expect(body.type).toMatch(/validation$/);
      }
      expect((await call('GET', '/v1/reconciliations?limit=101')).status).toBe(400);
    });
  });

  describe('GET /v1/invoices?order', () => {
    it('refuses an invoice order other than asc or desc', async () => {
      const { status, body } = await call('GET', '/v1/invoices?accountId=acme&order=newest');
      expect(status).toBe(400);
      expect(body.type).toMatch(/validation$/);
    });
  });

  describe('GET /v1/admin/billing-runs', () => {
    /** The tenant's runs once `count` are recorded (recording is on the side of the run: it may land just after). */
    const runs = (count: number, tenant?: string) =>
      eventually(
        async () => (await ok(call('GET', '/v1/admin/billing-runs?limit=100', { tenant }))).runs,
        (list) => list.length === count,
      );

    it('records each run, asked for or scheduled, newest first, as the run answered it', async () => {
      now = new Date('2026-11-21T00:00:00Z');
      const manual = await ok(call('POST', '/v1/admin/billing-runs'));
      now = new Date('2026-11-21T01:00:00Z');
      await invoicing.app.get(BillingScheduler).runEveryTenant();
      const [scheduled, asked] = await runs(2);
      expect(asked).toEqual({ ...manual, tenant: expect.any(String), trigger: 'manual', error: null });
      expect(scheduled).toMatchObject({ trigger: 'scheduled', startedAt: '2026-11-21T01:00:00.000Z', error: null });
      // The clock's pass covered the other tenant too, as itself.
      expect(await runs(1, other)).toEqual([expect.objectContaining({ tenant: other, trigger: 'scheduled' })]);
      expect((await ok(call('GET', '/v1/admin/billing-runs?limit=1'))).runs).toEqual([scheduled]);
    });

    it('answers a run the same with its history table locked, and records it once the lock is gone', async () => {
      const before = (await runs(2)).length;
      await pg.query('begin');
      await pg.query(`lock table ${table('billing_runs')} in access exclusive mode`);
      try {
        // Waited for the lock, this would not answer until the record timed out (and then as an error).
        expect((await call('POST', '/v1/admin/billing-runs')).status).toBe(201);
      } finally {
        await pg.query('commit');
      }
      await runs(before + 1);
    });

    it('answers a run the same with its history table gone (the run is then missing from the history)', async () => {
      const before = (await runs(3)).length;
      await pg.query(`alter table ${table('billing_runs')} rename to billing_runs_away`);
      try {
        const answer = await call('POST', '/v1/admin/billing-runs');
        expect(answer.status, JSON.stringify(answer.body)).toBe(201);
        expect(answer.body.failed).toBe(0);
        // The record is written beside the run, after its answer: let it try (and fail) while the table is away.
        await invoicing.app.get(BillingRunHistory).drain();
      } finally {
        await pg.query(`alter table ${table('billing_runs_away')} rename to billing_runs`);
      }
      // The next run is recorded again; the one without a table is not.
      await ok(call('POST', '/v1/admin/billing-runs'));
      await runs(before + 1);
    });

    it('records a tenant’s run that failed as a whole with its error', async () => {
      const before = (await runs(4)).length;
      await pg.query(`alter table ${table('billing_accounts')} rename to billing_accounts_away`);
      try {
        expect((await call('POST', '/v1/admin/billing-runs')).status).toBe(500);
      } finally {
        await pg.query(`alter table ${table('billing_accounts_away')} rename to billing_accounts`);
      }
      const [failed] = await runs(before + 1);
      expect(failed).toMatchObject({ trigger: 'manual', drafted: 0, subscriptions: 0, costAlerts: 0 });
      // Said as an API answer would say it: the driver's message (it names the missing table) stays in the log.
      expect(failed.error).toBe('an unexpected error occurred; it has been logged');
    });

    it('refuses a limit out of 1..100', async () => {
      for (const limit of ['0', '101', 'x']) {
        const { status, body } = await call('GET', `/v1/admin/billing-runs?limit=${limit}`);
        expect(status, limit).toBe(400);
        expect(body.type).toMatch(/validation$/);
      }
    });
  });
});

/** The three lists while Postgres is stopped (a server of the test's own): 503 problems, then answers again. */
describe('invoicing lists with Postgres gone', () => {
  const namespace = uniqueName('invlistspg');
  let postgres: ScratchPostgres;
  let invoicing: RunningTally;
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${invoicing.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: JSON.parse(await response.text()) };
  };
  const lists = ['/v1/plans', '/v1/reconciliations', '/v1/admin/billing-runs'];

  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    invoicing = await startApp('invoicing', namespace, {
      DATABASE_URL: postgres.url(),
      TALLY_BILLING_INTERVAL_MS: '86400000',
    });
  });

  afterAll(async () => {
    await invoicing?.close().catch(() => undefined);
    await postgres?.destroy();
    await deleteStreams(namespace);
  });

  it('answers 503 while it is away (a run then is not recorded), and lists again once it is back', async () => {
    expect((await call('POST', '/v1/plans', { id: 'p', name: 'P', currency: 'USD' })).status).toBe(201);
    expect((await call('POST', '/v1/admin/billing-runs')).status).toBe(201);
    await eventually(
      () => call('GET', '/v1/admin/billing-runs'),
      (r) => r.body.runs?.length === 1,
    );
    // The plan list is a projection of the ledger: wait until it holds the plan, so that what is listed
    // after the outage is what was there before it (not a projection that had not caught up yet).
    await eventually(
      () => call('GET', '/v1/plans'),
      (r) => r.body.plans?.length === 1,
    );

    await postgres.stop();
    for (const [method, path] of [...lists.map((l) => ['GET', l]), ['POST', '/v1/admin/billing-runs']]) {
      const answer = await call(method, path);
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(503);
      expect(answer.body.type).toMatch(/dependency-unavailable$/);
    }

    await postgres.start();
    await eventually(
      () => Promise.all(lists.map((l) => call('GET', l))),
      (answers) => answers.every((a) => a.status === 200),
      30_000,
    );
    expect((await call('GET', '/v1/plans')).body.plans.map((p: { id: string }) => p.id)).toEqual(['p']);
    // The run asked for while Postgres was away failed as a whole: it is not in the history (docs/invoicing.md).
    expect((await call('GET', '/v1/admin/billing-runs')).body.runs).toHaveLength(1);
  }, 90_000);
});
