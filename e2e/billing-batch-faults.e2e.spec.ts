import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { AppName, deleteStreams, http, startApp } from './support';

/**
 * A billing run's batched appends (docs/invoicing.md, "A billing run in batches") under ledger faults: a run whose
 * appends all fail writes nothing and is billed exactly once by the next; a run whose batches fail as a whole while
 * single appends go through still bills every subscription once (each caller's append made again on its own); and
 * the faultless run appends many invoices per transaction.
 */
describe('billing in batches under ledger faults', () => {
  const namespace = uniqueName('billfault');
  const ledger = `"${namespace}_ledger"`;
  const apps = {} as Record<AppName, RunningTally>;
  const accounts = Array.from({ length: 40 }, (_, i) => `acct${String(i).padStart(2, '0')}`);
  let now = new Date('2026-03-20T00:00:00Z');
  const clock = () => now;
  let db: Client;

  const ok = async (promise: ReturnType<typeof http>) => {
    const answer = await promise;
    expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
    return answer.body;
  };
  const billingRun = () => ok(http('POST', `${apps.invoicing.url}/v1/admin/billing-runs`));
  const invoiceEvents = async () =>
    (
      await db.query<{ type: string; n: number }>(
        `select event_type as type, count(*)::int as n from ${ledger}.events where event_type like 'Invoice%' group by 1 order by 1`,
      )
    ).rows;

  beforeAll(async () => {
    const env = { TALLY_BILLING_INTERVAL_MS: '3600000' };
    for (const app of ['attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, env, clock);
    db = new Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    await ok(
      http('POST', `${apps.aggregation.url}/api/v1/meters`, {
        slug: 'calls',
        name: 'API calls',
        eventType: 'api.call',
        aggregation: 'COUNT',
        groupBy: {},
      }),
    );
    await eventually(
      () =>
        http('POST', `${apps.invoicing.url}/v1/plans`, {
          id: 'metered',
          name: 'Metered',
          currency: 'USD',
          charges: [{ meter: 'calls', model: 'unit', unitPrice: '0.01' }],
        }),
      (answer) => answer.status === 201,
      10_000,
    );
    for (const id of accounts) {
      await ok(http('POST', `${apps.attribution.url}/v1/accounts`, { id, name: id, currency: 'USD', timezone: 'UTC' }));
      await ok(
        http('POST', `${apps.attribution.url}/v1/subscriptions`, {
          id: `sub-${id}`,
          accountId: id,
          planId: 'metered',
          startsAt: '2026-03-01T00:00:00Z',
        }),
      );
    }
    // Invoicing has every subscription (a run in March has nothing to bill yet, but counts them).
    await eventually(billingRun, (summary) => summary.subscriptions === accounts.length, 20_000);
    // Each statement that writes the ledger, with how many streams it wrote to.
    await db.query(`
      create table ${ledger}.append_log (streams int not null);
      create function ${ledger}.log_append() returns trigger language plpgsql as
        $$ begin insert into ${ledger}.append_log select count(distinct stream_name) from added; return null; end $$;
      create trigger log_append after insert on ${ledger}.events referencing new table as added
        for each statement execute function ${ledger}.log_append();`);
  }, 120_000);

  afterAll(async () => {
    await db?.end();
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('every append failing: the run bills nothing and writes nothing; the next run bills each subscription once', async () => {
    now = new Date('2026-04-01T06:00:00Z'); // March has ended; its grace period has not
    await db.query(`
      create function ${ledger}.disk_full() returns trigger language plpgsql as
        $$ begin raise exception 'could not extend file: No space left on device' using errcode = '53100'; end $$;
      create trigger disk_full before insert on ${ledger}.events for each statement execute function ${ledger}.disk_full();`);
    expect(await billingRun()).toMatchObject({ drafted: 0, failed: accounts.length });
    expect(await invoiceEvents()).toEqual([]);

    // Now only an append to more than one stream fails: each batch is refused whole, each caller's own append passes.
    await db.query(`
      drop trigger disk_full on ${ledger}.events;
      create function ${ledger}.refuse_batches() returns trigger language plpgsql as
        $$ begin
          if (select count(distinct stream_name) from added) > 1 then raise exception 'batch refused' using errcode = '53100'; end if;
          return null;
        end $$;
      create trigger refuse_batches after insert on ${ledger}.events referencing new table as added
        for each statement execute function ${ledger}.refuse_batches();`);
    await db.query(`truncate ${ledger}.append_log`);
    expect(await billingRun()).toMatchObject({ drafted: accounts.length, failed: 0 });
    expect(await invoiceEvents()).toEqual([{ type: 'InvoiceDrafted', n: accounts.length }]);
    const { rows: refusedRun } = await db.query<{ streams: number }>(`select streams from ${ledger}.append_log`);
    // The log of a refused statement is rolled back with it: every statement left wrote one stream.
    expect(refusedRun.every((r) => r.streams === 1)).toBe(true);
    await db.query(`drop trigger refuse_batches on ${ledger}.events`);
  });

  it('faultless: the invoices finalize with many per transaction, one invoice per subscription and period', async () => {
    await db.query(`truncate ${ledger}.append_log`);
    now = new Date('2026-04-03T00:00:00Z'); // the grace period is over
    expect(await billingRun()).toMatchObject({ finalized: accounts.length, failed: 0 });
    expect(await invoiceEvents()).toEqual([
      { type: 'InvoiceDrafted', n: accounts.length },
      { type: 'InvoiceFinalized', n: accounts.length },
    ]);
    const { rows } = await db.query<{ streams: number }>(`select streams from ${ledger}.append_log`);
    const finalizations = rows.reduce((n, r) => n + r.streams, 0);
    expect(finalizations).toBe(accounts.length);
    // Fewer transactions than invoices: they went in batches.
    expect(rows.length).toBeLessThan(accounts.length);
    expect(Math.max(...rows.map((r) => r.streams))).toBeGreaterThan(1);
    // The listing (a projection) shows each account's one invoice, finalized, once it has caught up.
    for (const id of accounts.slice(0, 5))
      await eventually(
        async () => (await ok(http('GET', `${apps.invoicing.url}/v1/invoices?accountId=${id}`))).invoices,
        (listed: { period: { label: string }; status: string }[]) =>
          JSON.stringify(listed.map((i) => [i.period.label, i.status])) === JSON.stringify([['2026-03', 'finalized']]),
        10_000,
      );
  });
});
