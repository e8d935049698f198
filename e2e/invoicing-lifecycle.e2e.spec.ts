import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { connect } from '@nats-io/transport-node';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { InvoiceTables } from '@tally/invoicing/data-access-billing';
import { BillingScheduler } from '@tally/invoicing/feature-billing';
import { ProjectionCatalog, RunningTally } from '@tally/shared/feature-runtime';
import { Client } from 'pg';
import { dropSchemas, eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, ledgerEvents, startApp } from './support';

const secret = 'whsec_Q2hhbmdlZCBvbmNlLCBuZXZlciBjb21taXR0ZWQ0Mg==';

/**
 * The invoice lifecycle around the billing run: anchored periods, a subscription starting mid-period, a
 * price change taking effect mid-period, finalize on request (in period order), void, the errors of each,
 * and invoice events reaching a signed webhook through NATS.
 */
describe('invoice lifecycle', () => {
  const namespace = uniqueName('invlife');
  const apps = {} as Record<AppName, RunningTally>;
  let now = new Date('2026-04-01T00:00:00Z');
  const clock = () => now;
  const invoicingLog: string[] = [];
  let key: string;
  let sent = 0;
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  let webhook: Server;

  const ok = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };
  const use = async (subject: string, time: string, gbSeconds: string) => {
    const event = {
      specversion: '1.0',
      id: `e${sent++}`,
      source: '//fn',
      type: 'fn.invocation',
      subject,
      time,
      data: { gbSeconds },
    };
    expect(
      (await http('POST', `${apps.ingestion.url}/v1/events`, [event], 'application/json', key)).body.accepted,
    ).toBe(1);
  };
  const caughtUp = async (app: 'aggregation' | 'invoicing') =>
    eventually(
      () => http('GET', `${apps[app].url}/v1/admin/projections`),
      (r) => r.body.projections.every((p: { behind: number }) => p.behind === 0),
      20_000,
    );
  /** A billing run once every usage event is rolled up; answered once the invoice listing shows its result. */
  const billingRun = async () => {
    await eventually(
      () => ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']),
      (events) => events.length === sent,
      20_000,
    );
    for (const app of ['aggregation', 'invoicing'] as const) await caughtUp(app);
    const summary = await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
    await caughtUp('invoicing');
    return summary;
  };
  const invoiceOf = async (accountId: string, period: string) => {
    const listed = await ok(http('GET', `${apps.invoicing.url}/v1/invoices?accountId=${accountId}`));
    return listed.invoices.find((i: { period: { label: string } }) => i.period.label === period);
  };
  const problem = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    return [answer.status, String(answer.body?.type).replace('https://tally.dev/problems/', '')];
  };

  beforeAll(async () => {
    webhook = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body });
        response.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const address = webhook.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/invoices`;
    const env = { TALLY_BILLING_INTERVAL_MS: '3600000' };
    for (const app of ['ingestion', 'attribution', 'aggregation'] as const)
      apps[app] = await startApp(app, namespace, env, clock);
    apps.invoicing = await startApp(
      'invoicing',
      namespace,
      { ...env, TALLY_INVOICE_WEBHOOK_URL: url, TALLY_INVOICE_WEBHOOK_SECRET: secret },
      clock,
      (line) => invoicingLog.push(line),
    );
    const [agg, inv, att] = [apps.aggregation.url, apps.invoicing.url, apps.attribution.url];
    await ok(
      http('POST', `${agg}/api/v1/meters`, {
        slug: 'fn-gbs',
        eventType: 'fn.invocation',
        aggregation: 'SUM',
        valueProperty: '$.gbSeconds',
      }),
    );
    await ok(
      http('POST', `${inv}/v1/plans`, {
        id: 'metered',
        name: 'Metered',
        currency: 'EUR',
        charges: [{ meter: 'fn-gbs', model: 'unit', unitPrice: '0.001' }],
      }),
    );
    // Billing periods from the 15th, 00:00 UTC; the subscription starts on 20 April, inside the period from 15 April.
    await ok(
      http('POST', `${att}/v1/accounts`, {
        id: 'anchored',
        name: 'Anchored',
        currency: 'EUR',
        timezone: 'UTC',
        billingAnchorDay: 15,
      }),
    );
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-anchored',
        accountId: 'anchored',
        planId: 'metered',
        startsAt: '2026-04-20T00:00:00Z',
      }),
    );
    await ok(http('PUT', `${att}/v1/subjects/s1`, { accountId: 'anchored', effectiveFrom: '2026-04-20T00:00:00Z' }));
    // Calendar months, two of them to bill at once.
    await ok(http('POST', `${att}/v1/accounts`, { id: 'monthly', name: 'Monthly', currency: 'EUR', timezone: 'UTC' }));
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-monthly',
        accountId: 'monthly',
        planId: 'metered',
        startsAt: '2026-04-01T00:00:00Z',
      }),
    );
    await ok(http('POST', `${att}/v1/accounts`, { id: 'idle', name: 'Idle', currency: 'EUR', timezone: 'UTC' }));
    await ok(
      http('POST', `${att}/v1/accounts`, { id: 'shortlived', name: 'Short-lived', currency: 'EUR', timezone: 'UTC' }),
    );
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-short',
        accountId: 'shortlived',
        planId: 'metered',
        startsAt: '2026-04-01T00:00:00Z',
      }),
    );
    await ok(http('PUT', `${att}/v1/subjects/s2`, { accountId: 'monthly', effectiveFrom: '2026-04-01T00:00:00Z' }));
    key = await createProducerKey(apps.ingestion.url);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await new Promise((resolve) => webhook?.close(resolve));
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('rates across a price change that takes effect mid-period; the upcoming invoice shows the anchored period', async () => {
    now = new Date('2026-04-21T00:00:00Z');
    // New prices from 1 May: usage before keeps the old price.
    await ok(
      http('POST', `${apps.invoicing.url}/v1/plans/metered/versions`, {
        effectiveFrom: '2026-05-01T00:00:00Z',
        charges: [{ meter: 'fn-gbs', model: 'unit', unitPrice: '0.002' }],
      }),
    );
    const plan = await ok(http('GET', `${apps.invoicing.url}/v1/plans/metered`));
    expect(
      plan.versions.map((v: { version: number; effectiveFrom: string | null }) => [v.version, v.effectiveFrom]),
    ).toEqual([
      [1, null],
      [2, '2026-05-01T00:00:00.000Z'],
    ]);
    const outOfOrder = await problem(
      http('POST', `${apps.invoicing.url}/v1/plans/metered/versions`, {
        effectiveFrom: '2026-04-25T00:00:00Z',
        charges: [],
      }),
    );
    expect(outOfOrder).toEqual([409, 'plan-version-out-of-order']);

    await use('s1', '2026-04-20T12:00:00Z', '1000'); // v1: 1000 × 0.001 = 1
    now = new Date('2026-05-03T00:00:00Z');
    await use('s1', '2026-05-02T12:00:00Z', '500'); // v2: 500 × 0.002 = 1
    await use('s2', '2026-04-10T12:00:00Z', '100'); // monthly, April: 100 × 0.001 = 0.1
    await use('s2', '2026-05-02T18:00:00Z', '200'); // May, price v2

    const upcoming = await eventually(
      () => http('GET', `${apps.invoicing.url}/v1/accounts/anchored/upcoming-invoice`),
      (r) => r.body.subtotal === '2',
      10_000,
    );
    expect(upcoming.body.period).toEqual({
      label: '2026-04',
      start: '2026-04-15T00:00:00.000Z',
      end: '2026-05-15T00:00:00.000Z',
    });
    expect(
      upcoming.body.lines.map((l: Record<string, never>) => [l.segment, l.quantity, l.unitPrice, l.amount]),
    ).toEqual([
      [
        { from: '2026-04-20T00:00:00.000Z', to: '2026-05-01T00:00:00.000Z', planId: 'metered', planVersion: 1 },
        '1000',
        '0.001',
        '1',
      ],
      [
        { from: '2026-05-01T00:00:00.000Z', to: '2026-05-15T00:00:00.000Z', planId: 'metered', planVersion: 2 },
        '500',
        '0.002',
        '1',
      ],
    ]);
    expect(upcoming.body.total).toBe('2.00');
    // Aggregation's account usage cuts the same anchored period.
    const usage = await ok(http('GET', `${apps.aggregation.url}/v1/accounts/anchored/usage?period=2026-04`));
    expect(usage).toMatchObject({
      from: '2026-04-15T00:00:00.000Z',
      to: '2026-05-15T00:00:00.000Z',
      billingAnchorDay: 15,
    });
    expect(usage.meters.find((m: { slug: string }) => m.slug === 'fn-gbs').total).toBe('1500');
    expect(await problem(http('GET', `${apps.invoicing.url}/v1/accounts/idle/upcoming-invoice`))).toEqual([
      404,
      'no-active-subscription',
    ]);
    expect(await problem(http('GET', `${apps.invoicing.url}/v1/accounts/nobody/upcoming-invoice`))).toEqual([
      404,
      'account-not-found',
    ]);
  });

  it('finalizes on request, in period order; voids with a reason; refuses what the state does not allow', async () => {
    now = new Date('2026-06-01T01:00:00Z'); // April and May ended for "monthly"
    // April's grace period is long over, so a run would draft and finalize it at once — but not while the rollups are
    // behind the ledger: then it drafts April and May (from the rollups as they are) and finalizes neither.
    const rollups = apps.aggregation.app.get(ProjectionCatalog).get('aggregation_usage_rollup');
    await rollups.stop();
    try {
      await use('s1', '2026-05-20T12:00:00Z', '100'); // anchored, period from 15 May: in the ledger, not in the rollups
      await eventually(
        () => ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']),
        (events) => events.length === sent,
        20_000,
      );
      await caughtUp('invoicing');
      const run = await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
      // Drafted: April and May of "monthly" and "shortlived", anchored [15 April, 15 May). The three past their grace:
      // behind (no fresh usage; once a subscription has seen that, the run asks no more).
      expect(run).toMatchObject({ drafted: 5, finalized: 0, behind: 3, failed: 0 });
    } finally {
      void rollups.start();
    }
    await caughtUp('aggregation');
    await caughtUp('invoicing');
    const april = await invoiceOf('monthly', '2026-04');
    const may = await invoiceOf('monthly', '2026-05');
    expect([april.status, may.status]).toEqual(['draft', 'draft']);
    // Adjustments are billed forward, so May cannot be final before April.
    expect(await problem(http('POST', `${apps.invoicing.url}/v1/invoices/${may.invoiceId}/finalize`))).toEqual([
      409,
      'earlier-invoice-open',
    ]);
    const finalApril = await ok(http('POST', `${apps.invoicing.url}/v1/invoices/${april.invoiceId}/finalize`));
    await caughtUp('invoicing');
    expect(finalApril).toMatchObject({ status: 'finalized', trigger: 'requested', total: '0.10', currency: 'EUR' });
    expect(await problem(http('POST', `${apps.invoicing.url}/v1/invoices/${april.invoiceId}/finalize`))).toEqual([
      409,
      'invoice-not-draft',
    ]);
    // May asks its own usage and, in the same request, whether April's usage changed since April's finalization
    // settled it: it did not, so April is not re-rated (it was re-rated by every later invoice — a cost growing with
    // the subscription's age).
    const nats = await connect({ servers: testNatsUrl() });
    const usageRequests = nats.subscribe(`${namespace}.aggregation.qry.billable-usage.v1`);
    let asked = 0;
    const intervalsAsked: number[] = [];
    const changesAsked: unknown[] = [];
    void (async () => {
      for await (const request of usageRequests) {
        asked += 1;
        const query = request.json() as { intervals: unknown[]; changes?: unknown };
        intervalsAsked.push(query.intervals.length);
        changesAsked.push(query.changes);
      }
    })();
    await nats.flush();
    expect(await ok(http('POST', `${apps.invoicing.url}/v1/invoices/${may.invoiceId}/finalize`))).toMatchObject({
      status: 'finalized',
      total: '0.40',
    }); // 200 × 0.002
    await nats.flush();
    await nats.close();
    expect([asked, intervalsAsked]).toEqual([1, [1]]); // May's period only
    expect(changesAsked).toEqual([
      { since: expect.stringMatching(/^[1-9]\d*$/), before: may.period.start, meters: ['fn-gbs'] },
    ]);

    expect(await problem(http('POST', `${apps.invoicing.url}/v1/invoices/${may.invoiceId}/void`, {}))).toEqual([
      400,
      'validation',
    ]);
    expect(
      await ok(
        http('POST', `${apps.invoicing.url}/v1/invoices/${may.invoiceId}/void`, { reason: 'billed outside Tally' }),
      ),
    ).toMatchObject({ status: 'voided', voidReason: 'billed outside Tally', total: '0.40' });
    await caughtUp('invoicing');
    expect(
      await problem(http('POST', `${apps.invoicing.url}/v1/invoices/${may.invoiceId}/void`, { reason: 'again' })),
    ).toEqual([409, 'invoice-already-voided']);
    // A voided invoice stays the period's invoice: the next run does not draft another. It finalizes the drafts past
    // their grace period now that usage has caught up: shortlived April, anchored [15 April, 15 May).
    expect(await billingRun()).toMatchObject({ drafted: 0, finalized: 2, failed: 0 });
    const monthly = (await ok(http('GET', `${apps.invoicing.url}/v1/invoices?accountId=monthly`))).invoices;
    expect(monthly).toHaveLength(2);
    // Newest period first on request; the same invoices.
    expect((await ok(http('GET', `${apps.invoicing.url}/v1/invoices?accountId=monthly&order=desc`))).invoices).toEqual(
      [...monthly].reverse(),
    );

    // Cancelled back to 1 May once April was final and May drafted: May's draft is voided, April stays billed.
    expect([
      (await invoiceOf('shortlived', '2026-04')).status,
      (await invoiceOf('shortlived', '2026-05')).status,
    ]).toEqual(['finalized', 'draft']);
    await ok(
      http('POST', `${apps.attribution.url}/v1/subscriptions/sub-short/cancel`, {
        at: '2026-05-01T00:00:00Z',
        reason: 'closed the account',
      }),
    );
    await eventually(
      () => billingRun(),
      (r) => r.voided === 1,
      10_000,
    );
    expect(await invoiceOf('shortlived', '2026-05')).toMatchObject({
      status: 'voided',
      voidReason: expect.stringContaining('no longer covers'),
    });
    expect((await invoiceOf('shortlived', '2026-04')).status).toBe('finalized');

    const unknown = '00000000-0000-4000-8000-000000000000';
    expect(await problem(http('GET', `${apps.invoicing.url}/v1/invoices/${unknown}`))).toEqual([404, 'not-found']);
    expect(await problem(http('GET', `${apps.invoicing.url}/v1/invoices/not-a-uuid`))).toEqual([404, 'not-found']);
    expect(await problem(http('POST', `${apps.invoicing.url}/v1/invoices/${unknown}/finalize`))).toEqual([
      404,
      'unknown-invoice',
    ]);
    expect(await problem(http('GET', `${apps.invoicing.url}/v1/invoices`))).toEqual([400, 'validation']);
    expect(await problem(http('POST', `${apps.invoicing.url}/v1/reconciliations`, { period: '2026-13' }))).toEqual([
      400,
      'validation',
    ]);
    expect(await problem(http('GET', `${apps.invoicing.url}/v1/reconciliations/${unknown}`))).toEqual([
      404,
      'unknown-reconciliation',
    ]);
  }, 60_000);

  it('one run drafts and finalizes an anchored period past its grace; every invoice event reaches the signed webhook through NATS', async () => {
    // The anchored period [15 May, 15 June) ended at midnight, its 24 h grace period an hour ago: due in one run.
    now = new Date('2026-06-16T01:00:00Z');
    expect(await billingRun()).toMatchObject({ drafted: 1, finalized: 1, behind: 0, waiting: 0, failed: 0 });
    const may = await invoiceOf('anchored', '2026-05');
    expect(await ok(http('GET', `${apps.invoicing.url}/v1/invoices/${may.invoiceId}`))).toMatchObject({
      status: 'finalized',
      trigger: 'grace_period_ended',
      total: '0.20', // 100 × 0.002 (price v2)
      period: { start: '2026-05-15T00:00:00.000Z', end: '2026-06-15T00:00:00.000Z' },
    });
    const anchored = await invoiceOf('anchored', '2026-04');
    expect(anchored).toMatchObject({
      status: 'finalized',
      total: '2.00',
      period: { start: '2026-04-15T00:00:00.000Z', end: '2026-05-15T00:00:00.000Z' },
    });

    const types = () => received.map((r) => JSON.parse(r.body).type as string);
    await eventually(
      () => Promise.resolve(types()),
      (t) => t.includes('InvoiceVoided') && t.filter((x) => x === 'InvoiceFinalized').length >= 3,
      20_000,
    );
    expect(new Set(types())).toEqual(new Set(['InvoiceDrafted', 'InvoiceFinalized', 'InvoiceVoided']));
    for (const { headers, body } of received) {
      // Verified as a receiver would, with the Standard Webhooks library (signature and 5-minute timestamp tolerance).
      expect(() => new Webhook(secret).verify(body, headers as Record<string, string>)).not.toThrow();
      expect(headers['webhook-id']).toBe(JSON.parse(body).id);
    }
  }, 60_000);

  it('never finalizes from a partial view: while the rollups have not applied the ledger, the invoice waits', async () => {
    now = new Date('2026-07-01T01:00:00Z');
    // June drafted for "monthly", and still in its grace period: a draft, not finalized.
    expect(await billingRun()).toMatchObject({ drafted: 1, finalized: 0, failed: 0 });
    expect((await invoiceOf('monthly', '2026-06')).status).toBe('draft');
    const rollups = apps.aggregation.app.get(ProjectionCatalog).get('aggregation_usage_rollup');
    await rollups.stop();
    try {
      await use('s2', '2026-06-30T20:00:00Z', '100'); // in the ledger, not in the rollups: 100 × 0.002 = 0.2
      await eventually(
        () => ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']),
        (events) => events.length === sent,
        20_000,
      );
      now = new Date('2026-07-02T01:00:00Z'); // past June's grace period
      const run = await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
      expect(run).toMatchObject({ finalized: 0, failed: 0 });
      expect(run.behind).toBe(1); // tried once, then not again in this run
      const june = await invoiceOf('monthly', '2026-06');
      expect(await problem(http('POST', `${apps.invoicing.url}/v1/invoices/${june.invoiceId}/finalize`))).toEqual([
        503,
        'usage-unavailable',
      ]);
    } finally {
      void rollups.start();
    }
    await billingRun();
    expect(await invoiceOf('monthly', '2026-06')).toMatchObject({ status: 'finalized', total: '0.20' });
  }, 60_000);
  it('re-rates only the finalized periods whose usage changed since the last finalization settled them', async () => {
    // "anchored" has two finalized periods, [15 April, 15 May) and [15 May, 15 June). Late usage lands in the second.
    await use('s1', '2026-06-01T10:00:00Z', '50'); // 50 × 0.002 = 0.10 more for [15 May, 15 June)
    const nats = await connect({ servers: testNatsUrl() });
    const asked: { accountId: string; intervals: { from: string }[]; changes?: { since: string } }[] = [];
    for (const subject of ['billable-usage.v1', 'billable-usage-batch.v1'])
      void (async () => {
        for await (const request of nats.subscribe(`${namespace}.aggregation.qry.${subject}`)) {
          const body = request.json() as { queries?: typeof asked } & (typeof asked)[number];
          asked.push(...(body.queries ?? [body]));
        }
      })();
    await nats.flush();
    // [15 June, 15 July) and its grace period are over: drafted and finalized in one run.
    now = new Date('2026-07-16T01:00:00Z');
    expect(await billingRun()).toMatchObject({ drafted: 1, finalized: 1, failed: 0 });
    await nats.flush();
    await nats.close();
    const june = await invoiceOf('anchored', '2026-06');
    const may = await invoiceOf('anchored', '2026-05');
    expect(june).toMatchObject({ status: 'finalized', total: '0.10' });
    expect(june.lines.filter((l: { kind: string }) => l.kind === 'adjustment')).toEqual([
      expect.objectContaining({
        adjusts: { invoiceId: may.invoiceId, period: '2026-05' },
        quantity: '150',
        billedQuantity: '100',
        amount: '0.1',
      }),
    ]);
    // Drafted, then finalized: each time June's own usage with the question "what changed since", then the one period
    // whose usage did — never April's, never both periods (every earlier period was re-rated by every invoice).
    const anchored = asked.filter((q) => q.accountId === 'anchored');
    expect(anchored.map((q) => [q.intervals.map((i) => i.from.slice(0, 10)), q.changes !== undefined])).toEqual([
      [['2026-06-15'], true],
      [['2026-05-15'], false],
      [['2026-06-15'], true],
      [['2026-05-15'], false],
    ]);
  }, 60_000);

  it('an earlier invoice voided while the invoice projection has not applied it is seen: what it billed is billed again', async () => {
    // June's invoice billed May's late usage (+0.10). It is voided while invoicing's invoice and standings projections
    // are stopped, so the invoice row still says finalized, settled, and the subscription's standing summary still
    // says June's finalization settled everything: billing must decide on neither (the ledger moved on after them).
    const [may, june] = [await invoiceOf('anchored', '2026-05'), await invoiceOf('anchored', '2026-06')];
    expect(june.lines.filter((l: { kind: string }) => l.kind === 'adjustment')).toHaveLength(1);
    const catalog = apps.invoicing.app.get(ProjectionCatalog);
    const stopped = ['invoicing_invoices', 'invoicing_standings'].map((name) => catalog.get(name));
    for (const projection of stopped) await projection.stop();
    try {
      await ok(http('POST', `${apps.invoicing.url}/v1/invoices/${june.invoiceId}/void`, { reason: 'sent by mistake' }));
      // [15 July, 15 August) is over, its grace period not: July is drafted — from the ledger's word, not the rows'.
      now = new Date('2026-08-15T00:30:00Z');
      expect(await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`))).toMatchObject({ failed: 0 });
    } finally {
      for (const projection of stopped) void projection.start();
    }
    await caughtUp('invoicing');
    const adjustment = expect.objectContaining({
      adjusts: { invoiceId: may.invoiceId, period: '2026-05' },
      amount: '0.1',
    });
    const draft = await invoiceOf('anchored', '2026-07');
    expect(draft).toMatchObject({ status: 'draft', total: '0.10' });
    expect(draft.lines.filter((l: { kind: string }) => l.kind === 'adjustment')).toEqual([adjustment]);
    now = new Date('2026-08-16T01:00:00Z');
    expect(await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`))).toMatchObject({ failed: 0 });
    await caughtUp('invoicing');
    const july = await invoiceOf('anchored', '2026-07');
    expect(july).toMatchObject({ status: 'finalized', total: '0.10' });
    expect(july.lines.filter((l: { kind: string }) => l.kind === 'adjustment')).toEqual([adjustment]);
  }, 60_000);

  it('standing summaries unreadable: billing decides from the invoice rows, bills, and says so', async () => {
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    const table = `"${apps.invoicing.runtime.schemaFor('invoicing')}".subscription_standings`;
    await pg.query(`alter table ${table} rename to subscription_standings_away`);
    try {
      // [15 August, 15 September) and its grace period are over.
      now = new Date('2026-09-16T01:00:00Z');
      expect(await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`))).toMatchObject({ failed: 0 });
      expect(invoicingLog.filter((line) => line.includes('standing summaries unreadable')).length).toBeGreaterThan(0);
    } finally {
      await pg.query(
        `alter table "${apps.invoicing.runtime.schemaFor('invoicing')}".subscription_standings_away rename to subscription_standings`,
      );
      await pg.end();
    }
    await caughtUp('invoicing');
    expect(await invoiceOf('anchored', '2026-08')).toMatchObject({ status: 'finalized' });
  }, 60_000);

  it('a run walks each subscription from its last settled period; a start moved earlier, or Postgres started anew, walks from the start again', async () => {
    // Every period of the three subscriptions up to now is settled (the runs above): the next run asks the invoice
    // rows only from each subscription's mark on, instead of every invoice each one has.
    const settledReads = vi.spyOn(InvoiceTables.prototype, 'settled');
    try {
      now = new Date('2026-09-17T00:00:00Z');
      expect(await billingRun()).toMatchObject({ drafted: 0, finalized: 0, failed: 0 });
      const [, , walks] = settledReads.mock.calls[0];
      expect(walks).toContainEqual({ subscriptionId: 'sub-anchored', from: '2026-09-15T00:00:00.000Z' });
      // Only rows at or after a mark (Short-lived's voided draft for May, past its end), none of Anchored's five.
      const read = [...(await settledReads.mock.results[0].value)];
      expect(read).toEqual(['sub-short@2026-05-01T00:00:00.000Z']);

      // The subscription now starts on 20 March: the period from 15 March is one it never had, before its mark.
      await ok(
        http('POST', `${apps.attribution.url}/v1/subscriptions/sub-anchored/reschedule`, {
          startsAt: '2026-03-20T00:00:00Z',
          reason: 'signed earlier than recorded',
        }),
      );
      await eventually(
        () => ledgerEvents(apps.attribution.runtime.eventStore, ['SubscriptionRescheduled']),
        (events) => events.length === 1,
        20_000,
      );
      expect(await billingRun()).toMatchObject({ drafted: 1, finalized: 1, failed: 0 });
      expect(settledReads.mock.calls[1][2]).toContainEqual({ subscriptionId: 'sub-anchored', from: null });

      // Postgres started anew (a failover to a replica, a restore: either could take back a finalization a mark
      // counts as settled): every subscription is walked from its start again.
      const started = vi
        .spyOn(BillingScheduler.prototype as unknown as { postgresStartedAt(): Promise<string> }, 'postgresStartedAt')
        .mockResolvedValue('2026-09-17T00:00:00.000Z');
      try {
        expect(await billingRun()).toMatchObject({ drafted: 0, finalized: 0, failed: 0 });
      } finally {
        started.mockRestore();
      }
      expect(settledReads.mock.calls[2][2].map((walk) => walk.from)).toEqual([null, null, null]);
    } finally {
      settledReads.mockRestore();
    }
    expect(await invoiceOf('anchored', '2026-03')).toMatchObject({
      status: 'finalized',
      period: { start: '2026-03-15T00:00:00.000Z', end: '2026-04-15T00:00:00.000Z' },
    });
  }, 60_000);
});
