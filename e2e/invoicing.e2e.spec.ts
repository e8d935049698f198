import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { INVOICE_LEDGER } from '@tally/invoicing/feature-billing';
import { EventStore } from '@tally/shared/data-access-event-store';
import { ProjectionCatalog, RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { ApiDocument } from './api-document';
import { adminToken, AppName, createProducerKey, deleteStreams, http, ledgerEvents, startApp } from './support';

/**
 * A month of usage for three accounts, billed end to end through the four real apps (JetStream, the
 * Postgres ledger), with a controllable clock: duplicates, out-of-order and late events, a subject
 * transferred between accounts, a void, a mid-month plan change and an account in Australia/Sydney.
 * Every expected amount below is worked out by hand in the comments, independently of the rating code.
 */
describe('invoicing: a month of usage to invoices, adjustments, credit notes and reconciliation', () => {
  const namespace = uniqueName('invoicing');
  const apps = {} as Record<AppName, RunningTally>;
  let now = new Date('2026-02-27T00:00:00Z');
  const clock = () => now;
  let key: string;
  const sent = new Set<string>();

  const fn = (id: string, subject: string, time: string, gbSeconds: string) => ({
    specversion: '1.0',
    id,
    source: '//forge/fn',
    type: 'fn.invocation',
    subject,
    time,
    data: { gbSeconds },
  });
  const kvs = (id: string, subject: string, time: string, gb: string) => ({
    specversion: '1.0',
    id,
    source: '//forge/kvs',
    type: 'kvs.read',
    subject,
    time,
    data: { gb },
  });
  const ingest = async (events: { id: string; source: string }[]) => {
    const answer = await http('POST', `${apps.ingestion.url}/v1/events`, events, 'application/json', key);
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    for (const e of events) sent.add(`${e.source}/${e.id}`);
  };
  const ok = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };
  type Body = Awaited<ReturnType<typeof ok>>;
  /** Every event sent is in the ledger and every projection of every app has applied the whole ledger. */
  const settled = async () => {
    await eventually(
      () => ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']),
      (events) => events.length === sent.size,
      20_000,
    );
    for (const app of ['aggregation', 'invoicing', 'attribution'] as const)
      await eventually(
        () => http('GET', `${apps[app].url}/v1/admin/projections`),
        (r) =>
          r.body.projections.every((p: { behind: number; status: string }) => p.behind === 0 && p.status === 'running'),
        20_000,
      );
  };
  /** A billing run once every usage event is rolled up; answered once the invoice listing shows its result. */
  const billingRun = async () => {
    await settled();
    const summary = await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
    await settled();
    return summary;
  };
  const invoices = async (accountId: string): Promise<Body[]> =>
    (await ok(http('GET', `${apps.invoicing.url}/v1/invoices?accountId=${accountId}`))).invoices;
  const invoiceFor = async (accountId: string, period: string) => {
    const listed = (await invoices(accountId)).find((i) => i.period.label === period);
    expect(listed, `${accountId} has an invoice for ${period}`).toBeDefined();
    return ok(http('GET', `${apps.invoicing.url}/v1/invoices/${listed?.invoiceId}`));
  };
  /** The money of an invoice, line by line: what a reader checks against the expectation. */
  const summary = (invoice: Body) => ({
    status: invoice.status,
    total: invoice.total,
    subtotal: invoice.subtotal,
    lines: (invoice.lines as Body[]).map((l) => [
      l.kind,
      l.segment.planId,
      l.meter,
      l.perValue,
      l.quantity,
      l.allowanceApplied,
      l.tier,
      l.units,
      l.unitPrice,
      l.amount,
    ]),
  });
  const reconcile = async (period: string) => {
    const started = await ok(http('POST', `${apps.invoicing.url}/v1/reconciliations`, { period }));
    return (
      await eventually(
        () => http('GET', `${apps.invoicing.url}/v1/reconciliations/${started.id}`),
        (r) => r.body.status !== 'running',
        20_000,
      )
    ).body;
  };

  beforeAll(async () => {
    // The billing clock only runs when asked (POST /v1/admin/billing-runs), so each step is deterministic.
    const env = { TALLY_BILLING_INTERVAL_MS: '3600000' };
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, env, clock);
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
      http('POST', `${agg}/api/v1/meters`, {
        slug: 'kvs-reads',
        eventType: 'kvs.read',
        aggregation: 'SUM',
        valueProperty: '$.gb',
      }),
    );
    // Forge-like: per app, a free allowance then a unit price.
    await ok(
      http('POST', `${inv}/v1/plans`, {
        id: 'forge-std',
        name: 'Forge standard',
        currency: 'USD',
        charges: [
          { meter: 'fn-gbs', model: 'unit', per: 'app', allowance: '200000', unitPrice: '0.000025' },
          { meter: 'kvs-reads', model: 'unit', per: 'app', allowance: '0.1', unitPrice: '0.055' },
        ],
      }),
    );
    await ok(
      http('POST', `${inv}/v1/plans`, {
        id: 'pro',
        name: 'Pro',
        currency: 'USD',
        charges: [
          {
            meter: 'fn-gbs',
            model: 'graduated',
            tiers: [
              { upTo: '100000', unitPrice: '0.00003' },
              { upTo: null, unitPrice: '0.00002' },
            ],
          },
        ],
      }),
    );
    await ok(
      http('POST', `${inv}/v1/plans`, {
        id: 'syd',
        name: 'Sydney packs',
        currency: 'AUD',
        charges: [{ meter: 'fn-gbs', model: 'package', allowance: '5000', packageSize: '1000', packagePrice: '0.05' }],
      }),
    );

    await ok(http('POST', `${att}/v1/accounts`, { id: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC' }));
    await ok(http('POST', `${att}/v1/accounts`, { id: 'globex', name: 'Globex', currency: 'USD', timezone: 'UTC' }));
    await ok(
      http('POST', `${att}/v1/accounts`, { id: 'koala', name: 'Koala', currency: 'AUD', timezone: 'Australia/Sydney' }),
    );
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-acme',
        accountId: 'acme',
        planId: 'forge-std',
        startsAt: '2026-03-01T00:00:00Z',
      }),
    );
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-globex',
        accountId: 'globex',
        planId: 'forge-std',
        startsAt: '2026-03-01T00:00:00Z',
      }),
    );
    // Globex moves to Pro from 16 March 00:00 UTC: usage before stays on forge-std.
    await ok(
      http('POST', `${att}/v1/subscriptions/sub-globex/plan-changes`, {
        planId: 'pro',
        effectiveFrom: '2026-03-16T00:00:00Z',
      }),
    );
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-koala',
        accountId: 'koala',
        planId: 'syd',
        startsAt: '2026-02-28T00:00:00Z',
      }),
    );

    const assign = (subject: string, accountId: string, app: string, effectiveFrom: string) =>
      ok(http('PUT', `${att}/v1/subjects/${subject}`, { accountId, attributes: { app }, effectiveFrom }));
    await assign('a1', 'acme', 'app1', '2026-03-01T00:00:00Z');
    await assign('a2', 'acme', 'app2', '2026-03-01T00:00:00Z');
    await assign('b1', 'globex', 'bapp', '2026-03-01T00:00:00Z');
    await assign('k1', 'koala', 'kapp', '2026-02-28T00:00:00Z');
    // The shared subject: Acme's until 10 March, then transferred to Globex.
    await assign('t', 'acme', 'app3', '2026-03-01T00:00:00Z');
    await assign('t', 'globex', 'app3', '2026-03-10T00:00:00Z');
    key = await createProducerKey(apps.ingestion.url);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('refuses bad plans and price changes with precise problems, and writes nothing', async () => {
    const inv = apps.invoicing.url;
    const bad = await http('POST', `${inv}/v1/plans`, {
      id: 'x',
      name: 'X',
      currency: 'USD',
      charges: [{ meter: 'fn-gbs', model: 'unit', unitPrice: 0.1 }],
    });
    expect(bad.status).toBe(400);
    // A JSON number is refused by the body's schema: decimals are strings (money never passes through a float).
    expect(bad.body.errors.map((e: { field: string }) => e.field)).toContain('charges.0.unitPrice');
    const unknownMeter = await http('POST', `${inv}/v1/plans`, {
      id: 'x',
      name: 'X',
      currency: 'USD',
      charges: [{ meter: 'nope', model: 'unit', unitPrice: '1' }],
    });
    expect([unknownMeter.status, unknownMeter.body.type]).toEqual([
      422,
      'https://tally.dev/problems/charged-meter-unknown',
    ]);
    expect((await http('GET', `${inv}/v1/plans/x`)).status).toBe(404);
    // A price change may not reach into the past: usage already recorded keeps its prices.
    const past = await http('POST', `${inv}/v1/plans/forge-std/versions`, {
      effectiveFrom: '2026-02-01T00:00:00Z',
      charges: [],
    });
    expect([past.status, past.body.type]).toEqual([409, 'https://tally.dev/problems/effective-from-in-past']);
    expect((await ok(http('GET', `${inv}/v1/plans/forge-std`))).versions).toHaveLength(1);
  });

  it('bills the month: every invoice equals the hand-computed expectation to the last decimal; reconciliation finds no drift', async () => {
    now = new Date('2026-04-01T00:30:00Z');
    // Out of order, with a duplicate sent in a later request.
    await ingest([
      fn('a1-3', 'a1', '2026-03-28T10:00:00Z', '50000'),
      fn('a1-1', 'a1', '2026-03-02T10:00:00Z', '100000'),
      fn('a2-1', 'a2', '2026-03-04T10:00:00Z', '150000'),
      fn('a2-void', 'a2', '2026-03-05T10:00:00Z', '30000'),
      fn('a1-2', 'a1', '2026-03-15T10:00:00Z', '100000'),
      kvs('a1-r2', 'a1', '2026-03-20T10:00:00Z', '0.05'),
      kvs('a1-r1', 'a1', '2026-03-03T10:00:00Z', '0.1'),
      fn('t-1', 't', '2026-03-05T00:00:00Z', '210000'),
      fn('t-2', 't', '2026-03-12T00:00:00Z', '220000'),
      fn('b1-2', 'b1', '2026-03-20T00:00:00Z', '150000'),
      fn('b1-1', 'b1', '2026-03-03T00:00:00Z', '180000'),
      fn('k1-apr', 'k1', '2026-03-31T13:00:00Z', '9999'), // 1 April 00:00 in Sydney: April
      fn('k1-3', 'k1', '2026-03-31T12:59:59Z', '1000'), // 31 March 23:59:59 in Sydney: March
      fn('k1-2', 'k1', '2026-03-15T00:00:00Z', '3500'),
      fn('k1-1', 'k1', '2026-02-28T13:30:00Z', '4000'), // 1 March 00:30 in Sydney: March
      fn('k1-feb', 'k1', '2026-02-28T12:30:00Z', '7000'), // 28 February 23:30 in Sydney: February
    ]);
    await ingest([
      fn('a1-1', 'a1', '2026-03-02T10:00:00Z', '100000'),
      fn('b1-1', 'b1', '2026-03-03T00:00:00Z', '180000'),
    ]);
    await ok(
      http(
        'POST',
        `${apps.ingestion.url}/v1/events/corrections`,
        { action: 'void', source: '//forge/fn', id: 'a2-void', reason: 'test invocation, not billable' },
        'application/json',
        key,
      ),
    );

    const first = await billingRun();
    // Drafted: koala February and March, acme and globex March. Koala's February ended 28 February 13:00Z and its
    // grace period 24 h later, long before this run: finalized in the same run. The March ones are still in their grace
    // period.
    expect(first).toMatchObject({ drafted: 4, finalized: 1, failed: 0 });
    expect((await invoiceFor('koala', '2026-02')).status).toBe('finalized');
    expect((await invoiceFor('koala', '2026-03')).status).toBe('draft');

    // Late usage inside the grace period (31 March 20:00, arriving 1 April 00:30) lands on the draft.
    await ingest([fn('a1-late', 'a1', '2026-03-31T20:00:00Z', '40000')]);
    const second = await billingRun();
    expect(second).toMatchObject({ failed: 0 });
    expect(second.redrafted).toBeGreaterThanOrEqual(1);
    // Nothing new: the drafts stay as they are (no InvoiceRedrafted for unchanged content).
    expect(await billingRun()).toMatchObject({ redrafted: 0, drafted: 0, failed: 0 });
    expect((await invoiceFor('acme', '2026-03')).status).toBe('draft');

    // Past every grace period (24 h after each period end): the scheduler finalizes them, oldest first.
    now = new Date('2026-04-02T01:00:00Z');
    await billingRun();

    // Acme, forge-std, per app (allowance 200,000 GB-s and 0.1 GB each):
    //   app1 fn: 100000 + 100000 + 50000 + 40000 (late) = 290000; duplicate a1-1 counted once → (290000 − 200000) × 0.000025 = 2.25
    //   app2 fn: 150000 (a2-void voided)               → within the allowance → 0
    //   app3 fn: t-1 210000 (t was Acme's until 10 March) → 10000 × 0.000025 = 0.25
    //   app1 kvs: 0.1 + 0.05 = 0.15                        → 0.05 × 0.055 = 0.00275
    //   total: 2.25 + 0 + 0.25 + 0.00275 = 2.50275 → 2.50 (half-even to cents)
    const seg = 'forge-std';
    expect(summary(await invoiceFor('acme', '2026-03'))).toEqual({
      status: 'finalized',
      subtotal: '2.50275',
      total: '2.50',
      lines: [
        ['usage', seg, 'fn-gbs', 'app1', '290000', '200000', null, '90000', '0.000025', '2.25'],
        ['usage', seg, 'fn-gbs', 'app2', '150000', '150000', null, '0', '0.000025', '0'],
        ['usage', seg, 'fn-gbs', 'app3', '210000', '200000', null, '10000', '0.000025', '0.25'],
        ['usage', seg, 'kvs-reads', 'app1', '0.15', '0.1', null, '0.05', '0.055', '0.00275'],
      ],
    });
    // Globex: forge-std until 16 March, Pro after (each segment rated with its own plan, allowance not shared):
    //   forge-std: bapp 180000 (duplicate b1-1 once) → 0; app3 t-2 220000 (Globex's since 10 March) → 20000 × 0.000025 = 0.5;
    //              kvs-reads: no usage → a zero line
    //   pro (graduated, whole subscription): b1-2 150000 → 100000 × 0.00003 = 3 (tier 1) + 50000 × 0.00002 = 1 (tier 2)
    //   total: 0 + 0.5 + 0 + 3 + 1 = 4.5 → 4.50
    expect(summary(await invoiceFor('globex', '2026-03'))).toEqual({
      status: 'finalized',
      subtotal: '4.5',
      total: '4.50',
      lines: [
        ['usage', seg, 'fn-gbs', 'app3', '220000', '200000', null, '20000', '0.000025', '0.5'],
        ['usage', seg, 'fn-gbs', 'bapp', '180000', '180000', null, '0', '0.000025', '0'],
        ['usage', seg, 'kvs-reads', null, '0', '0', null, '0', '0.055', '0'],
        ['usage', 'pro', 'fn-gbs', null, '150000', '0', 1, '100000', '0.00003', '3'],
        ['usage', 'pro', 'fn-gbs', null, '150000', '0', 2, '50000', '0.00002', '1'],
      ],
    });
    const globex = await invoiceFor('globex', '2026-03');
    expect(globex.lines.map((l: { segment: { from: string; to: string } }) => [l.segment.from, l.segment.to])).toEqual([
      ...Array(3).fill(['2026-03-01T00:00:00.000Z', '2026-03-16T00:00:00.000Z']),
      ...Array(2).fill(['2026-03-16T00:00:00.000Z', '2026-04-01T00:00:00.000Z']),
    ]);
    // Koala, Australia/Sydney (AEDT, +11:00): March is [28 Feb 13:00Z, 31 Mar 13:00Z); packages of 1000 GB-s at 0.05 AUD above 5000 free.
    //   March: k1-1 4000 + k1-2 3500 + k1-3 1000 = 8500 → 3500 billable → ceil(3.5) = 4 packages × 0.05 = 0.20
    //   February (from the subscription's start, 28 Feb 00:00Z): k1-feb 7000 → 2000 → 2 packages = 0.10
    const koala = await invoiceFor('koala', '2026-03');
    expect(koala.period).toEqual({
      label: '2026-03',
      start: '2026-02-28T13:00:00.000Z',
      end: '2026-03-31T13:00:00.000Z',
    });
    expect(summary(koala)).toEqual({
      status: 'finalized',
      subtotal: '0.2',
      total: '0.20',
      lines: [['usage', 'syd', 'fn-gbs', null, '8500', '5000', null, '4', '0.05', '0.2']],
    });
    expect(summary(await invoiceFor('koala', '2026-02'))).toMatchObject({
      status: 'finalized',
      total: '0.10',
      lines: [['usage', 'syd', 'fn-gbs', null, '7000', '5000', null, '2', '0.05', '0.1']],
    });
    expect((await invoices('acme')).map((i) => i.period.label)).toEqual(['2026-03']); // one invoice per (subscription, period)

    const report = await reconcile('2026-03');
    expect(report).toMatchObject({
      status: 'completed',
      accounts: 3,
      subscriptions: 3,
      invoicesCompared: 3,
      drifts: [],
    });
    expect(report.groupsCompared).toBeGreaterThanOrEqual(7);
  }, 120_000);

  it('after finalization: late usage becomes an adjustment on the next invoice, a void a credit note; nothing finalized changes', async () => {
    const marchAcme = await invoiceFor('acme', '2026-03');
    const marchKoala = await invoiceFor('koala', '2026-03');
    // 3 days late (inside the 35-day horizon): 20000 more GB-s for Acme's app1 in March; and Koala's 15 March usage voided.
    await ingest([fn('a1-very-late', 'a1', '2026-03-30T10:00:00Z', '20000')]);
    await ok(
      http(
        'POST',
        `${apps.ingestion.url}/v1/events/corrections`,
        { action: 'void', source: '//forge/fn', id: 'k1-2', reason: 'double-metered' },
        'application/json',
        key,
      ),
    );
    await billingRun();
    expect(await invoiceFor('acme', '2026-03')).toEqual(marchAcme);
    expect(await invoiceFor('koala', '2026-03')).toEqual(marchKoala);

    // Reconciliation sees what changed since and says where it will be billed.
    const pending = await reconcile('2026-03');
    expect(
      pending.drifts.map((d: Record<string, string>) => [
        d.accountId,
        d.meter,
        d.perValue,
        d.ledger,
        d.invoiced,
        d.cause,
      ]),
    ).toEqual([
      ['acme', 'fn-gbs', 'app1', '310000', '290000', 'changed_after_finalization'],
      ['koala', 'fn-gbs', null, '5000', '8500', 'changed_after_finalization'],
    ]);
    // The upcoming April invoice already shows the adjustment, and the credit to come.
    // The operator CLI says the same, and exits 1 while drifts are listed.
    const cli = await promisify(execFile)(
      process.execPath,
      ['tools/run-ts.cjs', 'tools/cli/main.ts', 'reconcile', '2026-03', '--json', '--url', apps.invoicing.url],
      {
        cwd: resolve(__dirname, '..'),
        env: { ...process.env, TALLY_ADMIN_TOKEN: adminToken },
      },
    ).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
    );
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout).drifts).toHaveLength(2);
    const upcoming = await ok(http('GET', `${apps.invoicing.url}/v1/accounts/koala/upcoming-invoice`));
    expect(upcoming.pendingCreditNotes).toHaveLength(1);

    // April ends; its invoices are drafted with the adjustments, then finalized after the grace period.
    now = new Date('2026-05-01T01:00:00Z');
    expect(await billingRun()).toMatchObject({ drafted: 3, finalized: 0, failed: 0 }); // all three in their grace period
    now = new Date('2026-05-02T14:00:00Z');
    expect(await billingRun()).toMatchObject({ drafted: 0, finalized: 3, failed: 0 });

    // Acme April: no April usage; March app1 re-rated: (310000 − 200000) × 0.000025 = 2.75, billed 2.25 → +0.50
    const aprilAcme = await invoiceFor('acme', '2026-04');
    expect(summary(aprilAcme)).toMatchObject({ status: 'finalized', subtotal: '0.5', total: '0.50' });
    const adjustment = aprilAcme.lines.find((l: { kind: string }) => l.kind === 'adjustment');
    expect(adjustment).toMatchObject({
      adjusts: { invoiceId: marchAcme.invoiceId, period: '2026-03' },
      meter: 'fn-gbs',
      perValue: 'app1',
      quantity: '310000',
      billedQuantity: '290000',
      units: '20000',
      unitPrice: '0.000025',
      amount: '0.5',
      billedAmount: '2.25',
      currentAmount: '2.75',
    });
    // Koala April: k1-apr 9999 → 4999 billable → 5 packages × 0.05 = 0.25. March re-rated: 4000 + 1000 = 5000 → 0, billed 0.20 →
    // −0.20: a credit note against the March invoice, not a negative line.
    const aprilKoala = await invoiceFor('koala', '2026-04');
    expect(summary(aprilKoala)).toEqual({
      status: 'finalized',
      subtotal: '0.25',
      total: '0.25',
      lines: [['usage', 'syd', 'fn-gbs', null, '9999', '5000', null, '5', '0.05', '0.25']],
    });
    expect(aprilKoala.creditNotes).toHaveLength(1);
    const note = await ok(http('GET', `${apps.invoicing.url}/v1/credit-notes/${aprilKoala.creditNotes[0]}`));
    // The credit note as the OpenAPI document says it is (the contract spec cannot make one without a moved clock).
    const documented = await ApiDocument.of({ invoicing: apps.invoicing.url });
    const noteUrl = new URL(`${apps.invoicing.url}/v1/credit-notes/${aprilKoala.creditNotes[0]}`);
    const exchange = { method: 'get', url: noteUrl, status: 200, contentType: 'application/json' };
    expect(documented.complaintAbout({ ...exchange, text: JSON.stringify(note) })).toBeUndefined();
    expect(note).toMatchObject({
      invoiceId: marchKoala.invoiceId,
      issuedWith: aprilKoala.invoiceId,
      currency: 'AUD',
      period: '2026-03',
      subtotal: '-0.2',
      total: '0.20',
    });

    // Voiding April's invoice does not take back the credit note issued with it: May issues no second one.
    await ok(
      http('POST', `${apps.invoicing.url}/v1/invoices/${aprilKoala.invoiceId}/void`, { reason: 'sent by mistake' }),
    );
    // May's periods and their grace periods are over: one run drafts and finalizes the three. The standings
    // projection is stopped for it, so each finalization finds its own draft after the projection's checkpoint:
    // folded into the summary from the ledger's tail, not a reason to read every earlier invoice.
    // The ledger as billing reads it (before its reads are batched with other invoices' into one round trip).
    const ledger = apps.invoicing.app.get<EventStore>(INVOICE_LEDGER);
    const streamReads = vi.spyOn(ledger, 'readStream');
    const manyReads = vi.spyOn(ledger, 'readStreams');
    const headReads = vi.spyOn(ledger, 'streamRevisions');
    const standings = apps.invoicing.app.get(ProjectionCatalog).get('invoicing_standings');
    await settled();
    await standings.stop();
    try {
      now = new Date('2026-06-02T14:00:00Z');
      // Asked directly: settled() waits for every projection, and this one is stopped.
      expect(await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`))).toMatchObject({
        drafted: 3,
        finalized: 3,
        failed: 0,
      });
    } finally {
      await standings.start();
    }
    await settled();
    // Each May invoice reads March's and April's invoices in one go, and only the credit notes their finalizations
    // list (Koala's, issued with April): one stream read per earlier period, and one per pair of them for credit
    // notes, was round trips growing with the subscription's age (its square).
    const mayIds = new Set(
      await Promise.all(['acme', 'koala', 'globex'].map(async (a) => (await invoiceFor(a, '2026-05')).invoiceId)),
    );
    const single = streamReads.mock.calls.map(([stream]) => stream).filter((s) => /^(invoice|creditnote)-/.test(s));
    const many = manyReads.mock.calls.map(([streams]) => streams.map((s) => s.replace(/_.*/, '')));
    const heads = headReads.mock.calls.map(([streams]) => streams.length).sort();
    streamReads.mockRestore();
    manyReads.mockRestore();
    headReads.mockRestore();
    expect(single.filter((s) => ![...mayIds].some((id) => s.endsWith(`_${id}`)))).toEqual([]); // May's own only
    // Drafted, then finalized: each invoice's content rated twice, each time deciding on its earlier periods from
    // its subscription's standing summary (one row, whatever the subscription's age) — no look at where each earlier
    // invoice's stream stands (before the summaries: [2, 2, 2, 2, 3, 3], one per earlier period)...
    expect(heads).toEqual([]);
    // ...and their streams read whole only where something is to be re-rated: Koala's, whose finalized April invoice
    // was voided. Acme's and Globex's finalized periods, unchanged since April settled them, are not read at all.
    expect(
      many
        .filter((streams) => streams.every((s) => s.startsWith('invoice-')))
        .map((streams) => streams.length)
        .sort(),
    ).toEqual([3, 3]);
    expect(many.filter((streams) => streams[0].startsWith('creditnote-'))).toEqual([
      [expect.stringMatching(/^creditnote-/)],
      [expect.stringMatching(/^creditnote-/)],
    ]);
    expect(await invoiceFor('koala', '2026-05')).toMatchObject({
      status: 'finalized',
      creditNotes: [],
      lines: [{ quantity: '0', amount: '0' }],
    });
    expect((await ok(http('GET', `${apps.invoicing.url}/v1/credit-notes?accountId=koala`))).creditNotes).toHaveLength(
      1,
    );

    // Still nothing finalized changed, and March reconciles again.
    expect(await invoiceFor('acme', '2026-03')).toEqual(marchAcme);
    expect(await invoiceFor('koala', '2026-03')).toEqual(marchKoala);
    expect((await reconcile('2026-03')).drifts).toEqual([]);
    expect((await reconcile('2026-04')).drifts).toEqual([]);
  }, 120_000);

  it('one invoice per (subscription, period) through restarts and concurrent runs; projections rebuild to the same rows', async () => {
    const before = { acme: await invoices('acme'), globex: await invoices('globex'), koala: await invoices('koala') };
    // Restart invoicing, then two processes bill at once: one runs, the other is told it is busy (or joins after); nothing new.
    await apps.invoicing.close();
    apps.invoicing = await startApp('invoicing', namespace, { TALLY_BILLING_INTERVAL_MS: '3600000' }, clock);
    const second = await startApp('invoicing', namespace, { TALLY_BILLING_INTERVAL_MS: '3600000' }, clock);
    try {
      await settled();
      const runs = await Promise.all(
        [apps.invoicing, second].map((app) => http('POST', `${app.url}/v1/admin/billing-runs`)),
      );
      for (const run of runs) expect([200, 201, 409]).toContain(run.status);
      for (const run of runs.filter((r) => r.status < 300))
        expect(run.body).toMatchObject({ drafted: 0, redrafted: 0, finalized: 0, failed: 0 });
    } finally {
      await second.close();
    }
    for (const projection of ['invoicing_invoices', 'invoicing_registry'])
      await ok(http('POST', `${apps.invoicing.url}/v1/admin/projections/${projection}/rebuild`, {}));
    await settled();
    expect({ acme: await invoices('acme'), globex: await invoices('globex'), koala: await invoices('koala') }).toEqual(
      before,
    );
    expect(await billingRun()).toMatchObject({ drafted: 0, redrafted: 0, finalized: 0, failed: 0, subscriptions: 3 });
  }, 60_000);
});
