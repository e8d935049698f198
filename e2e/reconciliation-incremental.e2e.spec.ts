import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptyLedgerState,
  foldLedger,
  ledgerEventTypes,
  LedgerUsage,
  meterValue,
  reconciledEvents,
} from '@tally/invoicing/domain';
import type { ReadAllOptions, RecordedEvent } from '@tally/shared/data-access-event-store';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { AppName, createProducerKey, deleteStreams, http, ledgerEvents, startApp } from './support';

/**
 * Reconciliation keeps its own fold of the ledger between runs (issue 18): a run reads the ledger events appended
 * since the previous run, not the whole ledger, and reports what a fold of the whole ledger gives. The four real
 * apps, a controllable clock; the ledger reads of reconciliation are counted on the invoicing app's own event store.
 */
describe('reconciliation: the ledger read once, then only its tail', () => {
  const namespace = uniqueName('reconinc');
  const apps = {} as Record<AppName, RunningTally>;
  let now = new Date('2026-02-27T00:00:00Z');
  const clock = () => now;
  let key: string;
  const sent = new Set<string>();
  /** Ledger events handed to reconciliation's fold (its reads name ledgerEventTypes). */
  let read = 0;

  const fn = (id: string, time: string, gbSeconds: string) => ({
    specversion: '1.0',
    id,
    source: '//forge/fn',
    type: 'fn.invocation',
    subject: 'a1',
    time,
    data: { gbSeconds },
  });
  const level = (id: string, time: string, gb: string) => ({ ...fn(id, time, '0'), type: 'kvs.level', data: { gb } });
  const ok = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };
  const ingest = async (events: { id: string; source: string }[]) => {
    await ok(http('POST', `${apps.ingestion.url}/v1/events`, events, 'application/json', key));
    for (const e of events) sent.add(`${e.source}/${e.id}`);
  };
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
  const reconcile = async (period: string) => {
    read = 0;
    const started = await ok(http('POST', `${apps.invoicing.url}/v1/reconciliations`, { period }));
    return (
      await eventually(
        () => http('GET', `${apps.invoicing.url}/v1/reconciliations/${started.id}`),
        (r) => r.body.status !== 'running',
        20_000,
      )
    ).body;
  };
  /** What a reconciliation found, without what differs between two runs of it. */
  const findings = ({ id: _id, requestedAt: _r, completedAt: _c, ...rest }: Record<string, unknown>) => rest;
  const schema = () => apps.invoicing.runtime.schemaFor('invoicing');
  const sql = async (text: string) => {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  /** Ledger events of the fold's types, in (after, upTo]. */
  const ledgerBetween = async (after: bigint, upTo: bigint) =>
    (await ledgerEvents(apps.attribution.runtime.eventStore, [...ledgerEventTypes])).filter(
      (e) => e.globalPosition > after && e.globalPosition <= upTo,
    );
  /** fn-gbs for acme in February, by the domain's fold of the whole ledger (what the old reconciliation read). */
  const wholeLedgerFebruary = async () => {
    const state = emptyLedgerState();
    for (const event of await ledgerEvents(apps.attribution.runtime.eventStore, [...ledgerEventTypes]))
      if (reconciledEvents(event)) foldLedger(state, event);
    const usage = [...state.usage.values()].filter(
      (u: LedgerUsage) =>
        !u.voided &&
        u.eventType === 'fn.invocation' &&
        u.attribution?.status === 'attributed' &&
        u.attribution.accountId === 'acme' &&
        u.time >= '2026-02-01T00:00:00.000Z' &&
        u.time < '2026-03-01T00:00:00.000Z',
    );
    return meterValue({ aggregation: 'SUM', valueProperty: '$.gbSeconds', groupBy: {} }, usage);
  };

  beforeAll(async () => {
    const env = { TALLY_BILLING_INTERVAL_MS: '3600000' };
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, env, clock);
    // Counted, not replaced: the invoicing app's real event store, its readAll wrapped.
    const store = apps.invoicing.runtime.eventStore;
    const readAll = store.readAll.bind(store);
    store.readAll = async (options?: ReadAllOptions): Promise<RecordedEvent[]> => {
      const events = await readAll(options);
      if (options?.eventTypes === ledgerEventTypes) read += events.length;
      return events;
    };
    const [agg, inv, att] = [apps.aggregation.url, apps.invoicing.url, apps.attribution.url];
    const meter = (slug: string, eventType: string, aggregation: string, valueProperty: string) =>
      ok(http('POST', `${agg}/api/v1/meters`, { slug, eventType, aggregation, valueProperty }));
    await meter('fn-gbs', 'fn.invocation', 'SUM', '$.gbSeconds');
    await meter('kvs-gb', 'kvs.level', 'TIME_WEIGHTED_SUM', '$.gb');
    await ok(
      http('POST', `${inv}/v1/plans`, {
        id: 'std',
        name: 'Standard',
        currency: 'USD',
        charges: [
          { meter: 'fn-gbs', model: 'unit', unitPrice: '0.001' },
          { meter: 'kvs-gb', model: 'unit', unitPrice: '0.01' },
        ],
      }),
    );
    await ok(http('POST', `${att}/v1/accounts`, { id: 'acme', name: 'Acme', currency: 'USD', timezone: 'UTC' }));
    await ok(
      http('POST', `${att}/v1/subscriptions`, {
        id: 'sub-acme',
        accountId: 'acme',
        planId: 'std',
        startsAt: '2026-02-01T00:00:00Z',
      }),
    );
    await ok(http('PUT', `${att}/v1/subjects/a1`, { accountId: 'acme', effectiveFrom: '2026-02-01T00:00:00Z' }));
    key = await createProducerKey(apps.ingestion.url);
  });

  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('a second run reads only the ledger appended since the first, and reports what the whole ledger gives', async () => {
    const day = (d: number, hour = 10) =>
      `2026-02-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;
    await ingest([
      ...Array.from({ length: 24 }, (_, i) => fn(`f-${i}`, day(2 + i, 9), String(100 + i))),
      level('l-1', day(2), '10'),
      level('l-2', day(12), '30'),
      level('l-3', day(20), '5'),
    ]);
    await settled();
    const first = await reconcile('2026-02');
    expect(first).toMatchObject({ status: 'completed', drifts: [] });
    expect(first.groupsCompared).toBe(2);
    const readByFirst = read;
    expect(readByFirst).toBeGreaterThan(27);

    // February is finalized (its day of grace is over), then usage for it arrives late.
    now = new Date('2026-03-02T12:00:00Z');
    await settled();
    await ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
    await settled();
    await ingest([fn('late-1', day(20, 11), '1000'), fn('late-2', day(21, 11), '2000')]);
    await settled();
    const second = await reconcile('2026-02');
    expect(second.status).toBe('completed');
    // Only the events after the first run's position: the two late ones (and nothing of the 27 read before).
    const appended = await ledgerBetween(BigInt(first.ledgerPosition), BigInt(second.ledgerPosition));
    expect(read).toBe(appended.length);
    expect(read).toBeLessThan(readByFirst);
    // The ledger side of the report is the whole ledger's fold: Σ 100..123 = 2,676, + 1,000 + 2,000 late.
    expect(await wholeLedgerFebruary()).toBe('5676');
    expect(second.drifts.map((d: Record<string, string>) => [d.meter, d.ledger, d.invoiced, d.cause])).toEqual([
      ['fn-gbs', '5676', '2676', 'changed_after_finalization'],
    ]);

    // A fold rebuilt from the start (checkpoint deleted) reads the whole ledger and finds the same.
    await sql(`delete from "${schema()}".reconciliation_ledger_checkpoint`);
    const rebuilt = await reconcile('2026-02');
    expect(read).toBeGreaterThanOrEqual(readByFirst + 2);
    expect(findings(rebuilt)).toEqual(findings(second));
  }, 120_000);

  it('a connection lost during the catch-up fails that run; the next resumes and reports what a fresh fold does', async () => {
    await ingest([fn('late-3', '2026-02-22T11:00:00Z', '300')]);
    await settled();
    // The fold's next write kills its own connection (as Postgres going away would), once: a sequence counts
    // outside the transaction.
    await sql(`
      create sequence "${schema()}".fault_count;
      create function "${schema()}".lose_connection() returns trigger language plpgsql as $$
        begin
          if nextval('"${schema()}".fault_count') = 1 then perform pg_terminate_backend(pg_backend_pid()); end if;
          return null;
        end $$;
      create trigger lose_connection after insert on "${schema()}".reconciliation_usage
        for each statement execute function "${schema()}".lose_connection();`);
    const failed = await reconcile('2026-02');
    expect(failed).toMatchObject({ status: 'failed', error: expect.stringMatching(/terminat/) });
    const resumed = await reconcile('2026-02');
    expect(resumed.status).toBe('completed');
    expect(read).toBe(1);
    expect(resumed.drifts.map((d: Record<string, string>) => [d.meter, d.ledger, d.cause])).toEqual([
      ['fn-gbs', '5976', 'changed_after_finalization'],
    ]);
    await sql(`delete from "${schema()}".reconciliation_ledger_checkpoint`);
    expect(findings(await reconcile('2026-02'))).toEqual(findings(resumed));
  }, 120_000);
});
