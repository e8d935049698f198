import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, ledgerEvents, startApp } from './support';

/**
 * GOLDEN: Forge's published bill example, through the API with the shipped catalog (catalogs/forge.json: all
 * 12 price lines, each meter measuring by Forge's rule): 250,000 GB-s of functions, 0.15 GB of KVS reads,
 * 694.3 GB-h of SQL data stored, 2M LLM input and 0.5M output credits in one month of one app —
 *   functions   (250,000 − 200,000 free) × 0.000025      = 1.25
 *   KVS reads   (0.15 − 0.1 free) × 0.055                 = 0.00275
 *   SQL stored  694.3 GB-h, under the 730 free            = 0
 *   LLM         2,000,000 × 0.0000001 + 500,000 × 0.0000005 = 0.2 + 0.25 = 0.45
 *   total                                                  = 1.70275 USD (invoice total 1.70)
 */
describe('GOLDEN: Forge’s whole published example, billed through the API', () => {
  const namespace = uniqueName('forge');
  const apps = {} as Record<AppName, RunningTally>;
  let now = new Date('2026-11-30T12:00:00Z');
  const clock = () => now;
  let key: string;
  let sent = 0;

  const ok = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };
  let n = 0;
  const event = (type: string, time: string, data: Record<string, unknown>, subject = 'installation-1') => ({
    specversion: '1.0',
    id: `evt-${++n}`,
    source: '//forge',
    type,
    subject,
    time,
    data,
  });
  const ingest = async (events: ReturnType<typeof event>[]) => {
    await ok(http('POST', `${apps.ingestion.url}/v1/events`, events, 'application/json', key));
    sent += events.length;
  };
  const settled = async () => {
    await eventually(
      () => ledgerEvents(apps.attribution.runtime.eventStore, ['UsageRecorded']),
      (events) => events.length === sent,
      20_000,
    );
    // Attribution's first: usage the ledger writer parked (its view of the registry behind the subject's assignment)
    // is re-attributed by the registry projection, and only then do the rollups and invoices see it. Without it a CI
    // run billed 0 (every event still parked when aggregation reported nothing behind).
    for (const app of ['attribution', 'aggregation', 'invoicing'] as const)
      await eventually(
        () => http('GET', `${apps[app].url}/v1/admin/projections`),
        (r) =>
          r.body.projections.every((p: { behind: number; status: string }) => p.behind === 0 && p.status === 'running'),
        20_000,
      );
  };

  beforeAll(async () => {
    const env = { TALLY_BILLING_INTERVAL_MS: '3600000' };
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, env, clock);
    // The shipped catalog, as `TALLY_CATALOG=forge npm start` loads it: meters, then the plan.
    const catalog = JSON.parse(readFileSync(resolve(__dirname, '../catalogs/forge.json'), 'utf8'));
    for (const meter of catalog.meters) await ok(http('POST', `${apps.aggregation.url}/api/v1/meters`, meter));
    for (const plan of catalog.plans) await ok(http('POST', `${apps.invoicing.url}/v1/plans`, plan));
    const att = apps.attribution.url;
    await ok(http('POST', `${att}/v1/accounts`, { id: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC' }));
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-acme',
        accountId: 'acme',
        planId: 'forge',
        startsAt: '2026-10-01T00:00:00Z',
      }),
    );
    await ok(
      http('PUT', `${att}/v1/subjects/installation-1`, {
        accountId: 'acme',
        attributes: { app: 'app-1' },
        effectiveFrom: '2026-10-01T00:00:00Z',
      }),
    );
    key = await createProducerKey(apps.ingestion.url);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('has all 12 of Forge’s price lines, each on a meter that measures by Forge’s rule', async () => {
    const plan = await ok(http('GET', `${apps.invoicing.url}/v1/plans/forge`));
    expect(plan.versions[0].charges).toHaveLength(12);
    const meters = await ok(http('GET', `${apps.aggregation.url}/api/v1/meters`));
    expect(meters.map((m: { slug: string }) => m.slug).sort()).toEqual(
      plan.versions[0].charges.map((c: { meter: string }) => c.meter).sort(),
    );
  });

  it('bills the example to the last digit: 1.70275 USD', async () => {
    await ingest([
      // 2 × (2048 MiB ÷ 1024 × 62,500 s) = 2 × 125,000 = 250,000 GB-s
      event('forge.function.invocation', '2026-11-03T10:00:00Z', { memoryMiB: 2048, durationMs: 62_500_000 }),
      event('forge.function.invocation', '2026-11-04T10:00:00Z', { memoryMiB: '2048', durationMs: 62_500_000 }),
      // 149,999,000 bytes + an empty read counted as 1 KB (1,000 bytes) = 150,000,000 bytes = 0.15 GB
      event('forge.kvs.read', '2026-11-05T10:00:00Z', { bytes: 149_999_000 }),
      event('forge.kvs.read', '2026-11-05T10:00:01Z', { bytes: 0 }),
      // The database holds 1 GB from 31 Oct 20:00 (carried into November) until 29 Nov 22:18, then nothing:
      // 1 Nov 00:00 → 29 Nov 22:18 = 28 × 24 h + 22.3 h = 694.3 h × 1 GB = 694.3 GB-h
      event('forge.sql.storage', '2026-10-31T20:00:00Z', { bytes: 1_000_000_000 }),
      event('forge.sql.storage', '2026-11-29T22:18:00Z', { bytes: 0 }),
      event('forge.llm.request', '2026-11-06T10:00:00Z', { inputCredits: 2_000_000, outputCredits: 500_000 }),
    ]);
    await settled();

    const upcoming = await ok(http('GET', `${apps.invoicing.url}/v1/accounts/acme/upcoming-invoice`));
    expect(upcoming.subtotal).toBe('1.70275');
    // Projected to the end of November, 708 of its 720 hours gone (30 Nov 12:00): sums at their rate so far,
    // × 720 ÷ 708 (= 60 ÷ 59, rounded once at 40 places); the database's level (0 since 29 Nov) held to the end.
    const projected = Object.fromEntries(
      upcoming.projection.lines.map((l: Record<string, string>) => [l.meter, [l.quantity, l.amount]]),
    );
    // 250,000 × 720 ÷ 708 = 254,237.288…; (254,237.288… − 200,000) × 0.000025 = 1.355932…
    expect(projected['forge-functions']).toEqual([
      '254237.2881355932203389830508474576271186440678',
      '1.355932203389830508474576271186440677966101695',
    ]);
    expect(projected['forge-sql-storage']).toEqual(['694.3', '0']);
    // 1.355932… + 0.002889… (KVS reads) + 0.203389… + 0.254237… (LLM) = 1.816449…
    expect(upcoming.projection.subtotal).toBe('1.81644915254237288135593220338983050847457701704');
    expect(upcoming.projection.total).toBe('1.82');

    // Budgets on cost, measured by the billing run against the rated period.
    const inv = apps.invoicing.url;
    await ok(
      http('POST', `${inv}/v1/cost-budgets`, {
        id: 'acme-cost',
        accountId: 'acme',
        limit: '1.5',
        thresholds: [50, 100],
      }),
    );
    await ok(http('POST', `${inv}/v1/cost-budgets`, { id: 'acme-app', accountId: 'acme', app: 'app-1', limit: '10' }));
    await ok(http('POST', `${inv}/v1/cost-budgets`, { id: 'acme-free', accountId: 'acme', allowances: true }));
    await eventually(
      () => http('GET', `${inv}/v1/cost-budgets?accountId=acme`),
      (r) => r.body.items?.length === 3,
      10_000,
    );
    // 1.70275 ≥ 1.5 × 50 % and × 100 %: 2 alerts; app-1's 1.70275 is 17 % of 10: none; the free allowances —
    // functions 250,000 / 200,000 = 125 % and KVS reads 0.15 / 0.1 = 150 % (50, 75, 90, 100 each), SQL stored
    // 694.3 / 730 = 95.1 % (50, 75, 90): 11 alerts. 13 in all; a second run finds nothing new.
    expect((await ok(http('POST', `${inv}/v1/admin/billing-runs`))).costAlerts).toBe(13);
    expect((await ok(http('POST', `${inv}/v1/admin/billing-runs`))).costAlerts).toBe(0);
    const cost = await ok(http('GET', `${inv}/v1/cost-budgets/acme-cost`));
    expect(cost.alerts.map((a: Record<string, unknown>) => [a.kind, a.period, a.threshold, a.value])).toEqual([
      ['cost', '2026-11', 50, '1.70275'],
      ['cost', '2026-11', 100, '1.70275'],
    ]);
    expect((await ok(http('GET', `${inv}/v1/cost-budgets/acme-app`))).alerts).toEqual([]);
    const free = await ok(http('GET', `${inv}/v1/cost-budgets/acme-free`));
    expect(
      free.alerts
        .filter((a: { meter: string }) => a.meter === 'forge-sql-storage')
        .map((a: { threshold: number }) => a.threshold),
    ).toEqual([50, 75, 90]);
    expect(free.alerts).toHaveLength(11);
    // Alerts are ledger events relayed like invoice events (NATS, the invoice webhook).
    const alerts = await ledgerEvents(apps.attribution.runtime.eventStore, ['CostThresholdCrossed']);
    expect(alerts).toHaveLength(13);

    // One billing run after the grace period drafts and finalizes November.
    now = new Date('2026-12-02T01:00:00Z');
    await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
    const { invoices } = await ok(http('GET', `${apps.invoicing.url}/v1/invoices?accountId=acme`));
    const listed = invoices.find((i: { period: { label: string } }) => i.period.label === '2026-11');
    const invoice = await ok(http('GET', `${apps.invoicing.url}/v1/invoices/${listed.invoiceId}`));
    expect(invoice.status).toBe('finalized');
    const lines = Object.fromEntries(
      invoice.lines.map((l: Record<string, string>) => [l.meter, [l.quantity, l.units, l.unitPrice, l.amount]]),
    );
    expect(lines).toEqual({
      'forge-functions': ['250000', '50000', '0.000025', '1.25'],
      'forge-kvs-reads': ['0.15', '0.05', '0.055', '0.00275'],
      'forge-kvs-writes': ['0', '0', '1.09', '0'],
      'forge-logs': ['0', '0', '1.005', '0'],
      'forge-sql-compute': ['0', '0', '0.143', '0'],
      'forge-sql-requests': ['0', '0', '0.000001929', '0'],
      'forge-sql-storage': ['694.3', '0', '0.0007685', '0'],
      'forge-object-store-requests': ['0', '0', '0.000001353', '0'],
      'forge-llm-input': ['2000000', '2000000', '0.0000001', '0.2'],
      'forge-llm-output': ['500000', '500000', '0.0000005', '0.25'],
      'forge-containers-vcpu': ['0', '0', '0.07177', '0'],
      'forge-containers-memory': ['0', '0', '0.00786', '0'],
    });
    expect(invoice.subtotal).toBe('1.70275');
    expect(invoice.total).toBe('1.70');
    // The per-million price shows as such on its line.
    expect(invoice.lines.find((l: { meter: string }) => l.meter === 'forge-sql-requests')).toMatchObject({
      unitPrice: '0.000001929',
      quotedPrice: { price: '1.929', per: '1000000' },
    });

    // Reconciliation re-derives every number from the ledger (gauge and derived values included): no drift.
    const started = await ok(http('POST', `${apps.invoicing.url}/v1/reconciliations`, { period: '2026-11' }));
    const run = await eventually(
      () => http('GET', `${apps.invoicing.url}/v1/reconciliations/${started.id}`),
      (r) => r.body.status !== 'running',
      20_000,
    );
    expect(run.body.status, JSON.stringify(run.body)).toBe('completed');
    expect(run.body.drifts).toEqual([]);
    // functions, KVS reads, SQL stored (time-weighted), LLM input and output: every line with usage compared.
    expect(run.body.groupsCompared).toBe(5);
  });

  it('projects a gauge by holding its current level to the end of the period (Forge’s containers, vCPU-hours)', async () => {
    // December, clock at 2 Dec 01:00: a container with 2 vCPUs since 2 Dec 00:00.
    await ingest([event('forge.container.resources', '2026-12-02T00:00:00Z', { vcpus: 2, memoryGiB: '0.5' })]);
    await settled();
    const upcoming = await ok(http('GET', `${apps.invoicing.url}/v1/accounts/acme/upcoming-invoice`));
    const line = (lines: Record<string, string>[], meter: string) => {
      const found = lines.find((l) => l.meter === meter) as Record<string, string>;
      return [found.quantity, found.amount];
    };
    // so far: 2 vCPU × 1 h = 2 vCPU-h × 0.07177 = 0.14354; 0.5 GiB × 1 h = 0.5 GiB-h × 0.00786 = 0.00393
    expect(line(upcoming.lines, 'forge-containers-vcpu')).toEqual(['2', '0.14354']);
    expect(line(upcoming.lines, 'forge-containers-memory')).toEqual(['0.5', '0.00393']);
    // projected: the levels held to 1 Jan 00:00 — 2 vCPU × 720 h = 1,440 vCPU-h × 0.07177 = 103.3488;
    // 0.5 GiB × 720 h = 360 GiB-h × 0.00786 = 2.8296
    expect(line(upcoming.projection.lines, 'forge-containers-vcpu')).toEqual(['1440', '103.3488']);
    expect(line(upcoming.projection.lines, 'forge-containers-memory')).toEqual(['360', '2.8296']);
  });
});
