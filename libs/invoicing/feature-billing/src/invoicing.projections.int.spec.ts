import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { accountStream } from '@tally/contracts/accounts';
import { creditNoteStream, invoiceStream } from '@tally/contracts/invoices';
import { planStream } from '@tally/contracts/plans';
import {
  billingMigrations,
  BillingRegistryTables,
  InvoiceTables,
  StandingTables,
} from '@tally/invoicing/data-access-billing';
import { foldRecorded, PostgresEventStore } from '@tally/shared/data-access-event-store';
import { decideEarlier, decideEarlierFromSummary, invoiceDecider, standingOf } from '@tally/invoicing/domain';
import { openAppDataSource, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { billingRegistryProjection } from './billing-registry.projection';
import { invoiceProjection } from './invoice.projection';
import { standingsProjection } from './standings.projection';

const namespace = uniqueName('invproj');
const schema = `${namespace}_invoicing`;
const charge = (unitPrice: string) => ({
  meter: 'fn',
  model: 'unit',
  per: null,
  allowance: '0',
  unitPrice,
  tiers: null,
  packageSize: null,
  packagePrice: null,
  description: null,
});
const period = { label: '2026-03', start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };
const line = (amount: string) => ({
  kind: 'usage',
  segment: { from: period.start, to: period.end, planId: 'p', planVersion: 1 },
  meter: 'fn',
  model: 'unit',
  per: null,
  perValue: null,
  quantity: amount,
  allowanceApplied: '0',
  tier: null,
  units: amount,
  unitPrice: '1',
  flatPrice: '0',
  amount,
});

/** The mandatory cases for invoicing's projections: a batch applied twice changes nothing; a rebuild gives the same rows. */
describe('invoicing projections (invoicing_registry, invoicing_invoices, invoicing_standings)', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  let runners: ProjectionRunner[];
  const projections = [
    (s: string) => billingRegistryProjection(new BillingRegistryTables(s)),
    (s: string) => invoiceProjection(new InvoiceTables(s)),
    (s: string) => standingsProjection(new StandingTables(s)),
  ];
  const everything = async () => ({
    accounts: await db.query(`select * from "${schema}".billing_accounts order by account_id`),
    plans: await db.query(`select * from "${schema}".billing_plans order by plan_id`),
    invoices: await db.query(`select * from "${schema}".invoices order by invoice_id`),
    notes: await db.query(`select * from "${schema}".credit_notes order by credit_note_id`),
    standingInvoices: await db.query(`select * from "${schema}".standing_invoices order by tenant, invoice_id`),
    standings: await db.query(`select * from "${schema}".subscription_standings order by tenant, subscription_id`),
  });
  const append = (stream: string, type: string, data: Record<string, unknown>) =>
    store.appendToStream(stream, [{ id: randomUUID(), type, data }]);

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: billingMigrations });
    const options = { connectionString: testDatabaseUrl(), schema, onError: (e: unknown) => console.error(e) };
    runners = projections.map((projection) => new ProjectionRunner(projection, db, store, options));
    const t = 't1';
    await append(planStream(t, 'p'), 'PlanCreated', {
      tenant: t,
      planId: 'p',
      name: 'P',
      currency: 'USD',
      charges: [charge('1')],
      createdAt: period.start,
    });
    await append(planStream(t, 'p'), 'PlanRevised', {
      tenant: t,
      planId: 'p',
      version: 2,
      effectiveFrom: '2026-03-15T00:00:00.000Z',
      charges: [charge('2')],
      revisedAt: period.start,
    });
    await append(accountStream(t, 'acme'), 'AccountOpened', {
      tenant: t,
      accountId: 'acme',
      name: 'Acme',
      currency: 'USD',
      timezone: 'Europe/Berlin',
      billingAnchorDay: 3,
      openedAt: period.start,
    });
    await append(accountStream(t, 'acme'), 'SubscriptionStarted', {
      tenant: t,
      accountId: 'acme',
      subscriptionId: 's1',
      planId: 'p',
      startsAt: period.start,
      endsAt: null,
      at: period.start,
    });
    await append(accountStream(t, 'acme'), 'SubscriptionPlanChanged', {
      tenant: t,
      accountId: 'acme',
      subscriptionId: 's1',
      planId: 'q',
      effectiveFrom: '2026-03-20T00:00:00.000Z',
      at: period.start,
    });
    await append(accountStream(t, 'acme'), 'SubscriptionCancelled', {
      tenant: t,
      accountId: 'acme',
      subscriptionId: 's1',
      endsAt: '2026-05-01T00:00:00.000Z',
      reason: 'r',
      at: period.start,
    });
    const id = randomUUID();
    const doc = {
      tenant: t,
      invoiceId: id,
      accountId: 'acme',
      subscriptionId: 's1',
      currency: 'USD',
      period,
      lines: [line('3')],
      subtotal: '3',
      total: '3.00',
      finalizesAt: period.end,
      draftedAt: period.end,
    };
    await append(invoiceStream(t, id), 'InvoiceDrafted', doc);
    await append(invoiceStream(t, id), 'InvoiceRedrafted', {
      tenant: t,
      invoiceId: id,
      lines: [line('4')],
      subtotal: '4',
      total: '4.00',
      redraftedAt: period.end,
    });
    await append(invoiceStream(t, id), 'InvoiceFinalized', {
      ...doc,
      lines: [line('4')],
      subtotal: '4',
      total: '4.00',
      finalizedAt: period.end,
      trigger: 'requested',
      creditNotes: [],
      settled: { usagePosition: '41', inputs: 'digest' },
    });
    const noteId = randomUUID();
    await append(creditNoteStream(t, noteId), 'CreditNoteIssued', {
      tenant: t,
      creditNoteId: noteId,
      invoiceId: id,
      issuedWith: randomUUID(),
      accountId: 'acme',
      subscriptionId: 's1',
      currency: 'USD',
      period: '2026-03',
      lines: [],
      subtotal: '-1',
      total: '1.00',
      issuedAt: period.end,
    });
    for (const runner of runners) {
      await runner.start();
      await runner.caughtUp();
    }
  });

  afterAll(async () => {
    for (const runner of runners ?? []) await runner.stop();
    await db?.destroy();
    await store?.close();
    await dropSchemas(namespace);
  });

  it('folds the registry and the invoice streams', async () => {
    const { accounts, plans, invoices, notes } = await everything();
    expect(accounts).toMatchObject([{ account_id: 'acme', timezone: 'Europe/Berlin', anchor_day: 3 }]);
    expect(accounts[0].subscriptions).toEqual([
      {
        subscriptionId: 's1',
        startsAt: period.start,
        endsAt: '2026-05-01T00:00:00.000Z',
        plans: [
          { planId: 'p', from: period.start },
          { planId: 'q', from: '2026-03-20T00:00:00.000Z' },
        ],
      },
    ]);
    expect(plans[0].versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect(invoices).toMatchObject([{ status: 'finalized', document: { total: '4.00', status: 'finalized' } }]);
    expect(invoices[0].finalized_position).not.toBeNull();
    // The row stands at its stream's last revision (drafted, redrafted, finalized), with what the finalization
    // settled: billing takes it for the stream's fold while the ledger's stream is still there.
    expect([invoices[0].revision, invoices[0].settled]).toEqual(['2', { usagePosition: '41', inputs: 'digest' }]);
    expect(invoices[0].document).not.toHaveProperty('settled');
    expect(notes).toHaveLength(1);
  });

  it('a batch applied twice changes nothing', async () => {
    const before = await everything();
    for (const runner of runners) {
      const batch = await store.readAll({ maxCount: 100, eventTypes: runner.projection.eventTypes });
      await runner.applyBatch(batch);
      await runner.applyBatch(batch);
    }
    expect(await everything()).toEqual(before);
  });

  it('rebuilt from zero gives the same rows', async () => {
    const before = await everything();
    for (const runner of runners) {
      await runner.rebuild();
      await runner.caughtUp();
    }
    expect(await everything()).toEqual(before);
  });

  it("a row's standing is its stream's fold, at the stream's last revision, through every lifecycle", async () => {
    // What billing relies on when it decides from a row instead of reading the stream (invoices.service).
    const t = 't1';
    const month = (m: number) => ({
      label: `2025-${String(m).padStart(2, '0')}`,
      start: new Date(Date.UTC(2025, m - 1, 1)).toISOString(),
      end: new Date(Date.UTC(2025, m, 1)).toISOString(),
    });
    const invoice = async (m: number, steps: ('finalize' | 'settle' | 'void')[]) => {
      const id = randomUUID();
      const doc = {
        tenant: t,
        invoiceId: id,
        accountId: 'acme',
        subscriptionId: 's2',
        currency: 'USD',
        period: month(m),
        lines: [line('1')],
        subtotal: '1',
        total: '1.00',
        finalizesAt: month(m).end,
        draftedAt: month(m).end,
      };
      await append(invoiceStream(t, id), 'InvoiceDrafted', doc);
      for (const step of steps)
        if (step === 'void')
          await append(invoiceStream(t, id), 'InvoiceVoided', {
            tenant: t,
            invoiceId: id,
            reason: 'r',
            voidedAt: month(m).end,
          });
        else
          await append(invoiceStream(t, id), 'InvoiceFinalized', {
            ...doc,
            finalizedAt: month(m).end,
            trigger: 'requested',
            creditNotes: [],
            ...(step === 'settle' && { settled: { usagePosition: String(m), inputs: 'd' } }),
          });
    };
    await invoice(1, []); // a draft
    await invoice(2, ['void']); // a voided draft
    await invoice(3, ['settle']); // finalized, settled
    await invoice(4, ['settle', 'void']); // finalized, settled, then voided
    await invoice(5, ['finalize']); // finalized before settlements were kept
    for (const runner of runners) await runner.caughtUp();
    const [rows] = await new InvoiceTables(schema).standings(db, t, ['s2']);
    expect(rows.map((r) => r.period.label)).toEqual(['2025-01', '2025-02', '2025-03', '2025-04', '2025-05']);
    for (const row of rows) {
      const events = await store.readStream(invoiceStream(t, row.invoiceId));
      const fold = foldRecorded(invoiceDecider, invoiceStream(t, row.invoiceId), events).state;
      const finalized = events.find((e) => e.type === 'InvoiceFinalized');
      if (fold.document && finalized) fold.document.finalizedPosition = finalized.globalPosition.toString();
      expect([row.revision, row.standing]).toEqual([events[events.length - 1].streamRevision, standingOf(fold)]);
    }
    expect(rows.map((r) => [r.standing.status, r.standing.settled?.usagePosition])).toEqual([
      ['draft', undefined],
      ['voided', undefined],
      ['finalized', '3'],
      ['voided', undefined],
      ['finalized', undefined],
    ]);
    // A void names only its invoice: the standings projection's rows say whose it is (the ledger tail asks them).
    const owners = await new StandingTables(schema).subscriptionsOf(db, t, [
      ...rows.map((r) => r.invoiceId),
      randomUUID(),
    ]);
    expect([...owners.values()]).toEqual(rows.map(() => 's2'));
    // The subscription's summary (invoicing_standings) decides as the rows do.
    const [{ summary }] = await new StandingTables(schema).summaries(db, [{ tenant: t, subscriptionId: 's2' }]);
    expect(summary).toMatchObject({ drafts: 1, finalized: 2, rerateAll: true, lastPeriodStart: month(5).start });
    const decided = decideEarlier(
      rows.map((r) => ({ period: r.period, standing: r.standing })),
      'd',
    );
    expect([decided, decideEarlierFromSummary(summary, month(6), 'd')]).toEqual([
      { kind: 'alone', open: true },
      { kind: 'alone', open: true },
    ]);
  });
});
