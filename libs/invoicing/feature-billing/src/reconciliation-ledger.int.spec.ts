import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Client } from 'pg';
import type { MeterCreatedV1 } from '@tally/contracts/meters';
import type { Attribution } from '@tally/contracts/usage';
import { billingMigrations, ReconciliationLedgerTables } from '@tally/invoicing/data-access-billing';
import {
  emptyLedgerState,
  foldBatch,
  foldLedger,
  LedgerState,
  LedgerUsage,
  ledgerEventTypes,
  reconciledEvents,
  timeWeightedSpans,
  touchedBy,
} from '@tally/invoicing/domain';
import { EventStore, PostgresEventStore, RecordedEvent } from '@tally/shared/data-access-event-store';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { ReconciliationLedger } from './reconciliation-ledger';

const namespace = uniqueName('reconledger');
const schema = `${namespace}_invoicing`;
const tenants = ['t1', 't2'];
const gauge = (tenant: string): MeterCreatedV1 => ({
  tenant,
  slug: 'storage',
  name: 'storage',
  description: null,
  eventType: 'storage.level',
  aggregation: 'TIME_WEIGHTED_SUM',
  valueProperty: '$.gb',
  groupBy: {},
  createdAt: '2026-01-01T00:00:00.000Z',
});

/** A deterministic pseudo-random sequence (the same ledger on every run). */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

/**
 * The ledger's whole fold by the domain's foldLedger, per tenant (as the old reconciliation read it: every
 * event from position 0, one tenant at a time): what the kept fold must equal.
 */
const foldWhole = async (store: EventStore, upTo: bigint): Promise<Map<string, LedgerState>> => {
  const states = new Map(tenants.map((t) => [t, emptyLedgerState()]));
  let after: bigint | undefined;
  for (;;) {
    const events = await store.readAll({ after, maxCount: 1_000, eventTypes: ledgerEventTypes });
    for (const event of events)
      if (event.globalPosition <= upTo && reconciledEvents(event))
        foldLedger(states.get(event.data.tenant) as LedgerState, event);
    if (events.length < 1_000) return states;
    after = events[events.length - 1].globalPosition;
  }
};
const plainUsage = (u: LedgerUsage) => ({
  ...u,
  accounts: [...u.accounts].sort(),
  lastPosition: String(u.lastPosition),
});
const byId = <T extends { usageId: string }>(list: T[]) => [...list].sort((a, b) => (a.usageId < b.usageId ? -1 : 1));

describe('reconciliation ledger: invoicing’s own fold of the ledger, kept between runs', () => {
  let store: PostgresEventStore;
  let db: DataSource;
  const tables = new ReconciliationLedgerTables(schema);
  /** Ledger events handed to the fold (readAll), counted: what a run costs. */
  const reads = { events: 0 };
  let counting: EventStore;
  const next = random(18);
  let usageCount = 0;
  const accounts = ['acct-1', 'acct-2', 'acct-3'];
  const attributed = (): Attribution => {
    const accountId = accounts[Math.floor(next() * accounts.length)];
    return { status: 'attributed', accountId, subscriptionId: `sub-${accountId}`, planId: 'p', attributes: {} };
  };
  const parked: Attribution = { status: 'parked', reason: 'unknown_subject' };
  const march = (n: number) => new Date(Date.parse('2026-02-25T00:00:00.000Z') + n * 3_600_000).toISOString();

  /**
   * Appends `count` ledger events of both tenants: usage (some recorded twice, some parked, gauge reports with
   * and without a level), re-attributions, voids and amendments (some before their usage), meters created,
   * updated and deleted.
   */
  const appendLedger = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const tenant = tenants[Math.floor(next() * 2)];
      const roll = next();
      const known = `u-${Math.floor(next() * (usageCount + 5))}`; // now and then one not recorded yet
      const stream = `usage-${tenant}_x`;
      const event = (type: string, data: Record<string, unknown>) =>
        store.appendToStream(stream, [{ id: randomUUID(), type, data: { tenant, ...data } }]);
      const common = { source: '//s', eventId: known, reason: 'test', correctedAt: march(800) };
      if (roll < 0.55) {
        const again = next() < 0.1 && usageCount > 0;
        const usageId = again ? known : `u-${usageCount++}`;
        const level = next() < 0.5;
        await event('UsageRecorded', {
          usageId,
          source: '//s',
          eventId: usageId,
          eventType: level ? 'storage.level' : 'fn.invocation',
          subject: `s-${Math.floor(next() * 4)}`,
          time: march(Math.floor(next() * 24 * 40)),
          receivedAt: march(900),
          // A report without a number sets no level (the one before it carries on).
          data: level ? (next() < 0.15 ? { note: 'no level' } : { gb: String(Math.floor(next() * 100)) }) : { n: 1 },
          attribution: next() < 0.1 ? parked : attributed(),
        });
      } else if (roll < 0.7) {
        await event('UsageReattributed', {
          usageId: known,
          subject: 's-0',
          eventType: 'fn.invocation',
          time: march(1),
          previous: parked,
          next: attributed(),
          reason: 'transfer',
          causeId: 'c',
        });
      } else if (roll < 0.8) await event('UsageVoided', { usageId: known, ...common });
      else if (roll < 0.92) await event('UsageAmended', { usageId: known, ...common, data: { gb: '7', n: 2 } });
      else {
        const kind = next();
        const m = { ...gauge(tenant), slug: next() < 0.5 ? 'storage' : 'calls' };
        await store.appendToStream(`meter-${tenant}_${m.slug}`, [
          kind < 0.7
            ? { id: randomUUID(), type: 'MeterCreated', data: { ...m } }
            : kind < 0.85
              ? { id: randomUUID(), type: 'MeterUpdated', data: { ...m, name: `n${i}`, updatedAt: march(2) } }
              : { id: randomUUID(), type: 'MeterDeleted', data: { tenant, slug: m.slug, deletedAt: march(3) } },
        ]);
      }
    }
    // The gauge meter, last, so that every tenant has it.
    for (const tenant of tenants)
      await store.appendToStream(`meter-${tenant}_storage`, [
        { id: randomUUID(), type: 'MeterUpdated', data: { ...gauge(tenant), updatedAt: march(4) } },
      ]);
  };
  const head = async () => {
    const [last] = await db.query(`select max(global_position)::text as p from "${namespace}_ledger".events`);
    return BigInt(last.p);
  };
  /** The fold's shape, compared: usage, pending corrections and meters of each tenant, in a stable order. */
  const shape = (state: LedgerState) => ({
    usage: byId([...state.usage.values()]).map(plainUsage),
    pending: [...state.pending]
      .map(([usageId, p]) => ({ usageId, ...p, position: String(p.position) }))
      .sort((a, b) => (a.usageId < b.usageId ? -1 : 1)),
    meters: [...state.meters.values()].sort((a, b) => (a.slug < b.slug ? -1 : 1)),
  });
  /** The kept fold, read back per tenant. */
  const kept = async () => {
    const states = new Map<string, ReturnType<typeof shape>>();
    for (const tenant of tenants) {
      const ids: { usage_id: string }[] = await db.query(
        `select usage_id from "${schema}".reconciliation_usage where tenant = $1
         union select usage_id from "${schema}".reconciliation_pending where tenant = $1`,
        [tenant],
      );
      const state =
        (await tables.load(db, new Map([[tenant, new Set(ids.map((r) => r.usage_id))]]))).get(tenant) ??
        emptyLedgerState();
      state.meters = await tables.meters(db, tenant);
      states.set(tenant, shape(state));
    }
    return states;
  };
  const expected = async (upTo: bigint) =>
    new Map([...(await foldWhole(store, upTo))].map(([tenant, state]) => [tenant, shape(state)]));

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: billingMigrations });
    // Instrumented, not replaced: the real store, with the events each readAll hands back counted.
    counting = Object.assign(Object.create(store) as EventStore, {
      readAll: async (options?: Parameters<EventStore['readAll']>[0]) => {
        const events: RecordedEvent[] = await store.readAll(options);
        reads.events += events.length;
        return events;
      },
    });
    await appendLedger(400);
    // A subject whose last report before the period sets no level, and the one before that was voided: the
    // level carried into the period is the one before both.
    const report = (usageId: string, time: string, data: Record<string, unknown>) => ({
      id: randomUUID(),
      type: 'UsageRecorded',
      data: {
        tenant: 't1',
        usageId,
        source: '//s',
        eventId: usageId,
        eventType: 'storage.level',
        subject: 'gauge-x',
        time,
        receivedAt: time,
        data,
        attribution: { status: 'attributed', accountId: 'acct-1', subscriptionId: 's', planId: 'p', attributes: {} },
      },
    });
    await store.appendToStream('usage-t1_gauge', [
      report('g-1', '2026-03-01T00:00:00.000Z', { gb: '40' }),
      report('g-2', '2026-03-02T00:00:00.000Z', { gb: '50' }),
      report('g-3', '2026-03-03T00:00:00.000Z', { note: 'no level' }),
      {
        id: randomUUID(),
        type: 'UsageVoided',
        data: { tenant: 't1', usageId: 'g-2', source: '//s', eventId: 'g-2', reason: 'test', correctedAt: march(5) },
      },
    ]);
  });

  afterAll(async () => {
    await db?.destroy();
    await store?.close();
    await dropSchemas(namespace);
  });

  it('folds the ledger as foldLedger does, batch by batch, every tenant, up to the position asked', async () => {
    const fold = new ReconciliationLedger(counting, db, tables, 37);
    const middle = (await head()) / 2n;
    await fold.catchUp(middle);
    expect(await kept()).toEqual(await expected(middle));
    expect(await tables.position(db)).toBeLessThanOrEqual(middle);
    await fold.catchUp(await head());
    expect(await kept()).toEqual(await expected(await head()));
  });

  it('a later run reads only the events appended since the previous one', async () => {
    const fold = new ReconciliationLedger(counting, db, tables, 37);
    await fold.catchUp(await head());
    const before = await head();
    await appendLedger(60);
    const appended = (await store.readAll({ after: before, maxCount: 10_000, eventTypes: ledgerEventTypes })).length;
    reads.events = 0;
    await fold.catchUp(await head());
    expect(reads.events).toBe(appended);
    expect(await kept()).toEqual(await expected(await head()));
    // Caught up: nothing is read.
    reads.events = 0;
    await fold.catchUp(await head());
    expect(reads.events).toBe(0);
  });

  it('reads a period: the usage of its window, and the reports that carry a level into it', async () => {
    const fold = new ReconciliationLedger(counting, db, tables, 37);
    await fold.catchUp(await head());
    const whole = await foldWhole(store, await head());
    const window = { from: '2026-03-01T00:00:00.000Z', to: '2026-04-01T00:00:00.000Z' };
    for (const tenant of tenants) {
      const meter = gauge(tenant);
      const reads = [{ meter, from: '2026-03-05T00:00:00.000Z', to: '2026-03-20T00:00:00.000Z' }];
      const view = await fold.read(tenant, window, () => reads);
      const all = [...(whole.get(tenant) as LedgerState).usage.values()];
      expect(byId(view.usage).map(plainUsage)).toEqual(
        byId(all.filter((u) => u.accounts.size > 0 && u.time >= window.from && u.time < window.to)).map(plainUsage),
      );
      const spans = (usage: LedgerUsage[]) =>
        timeWeightedSpans(meter, usage, new Date(reads[0].from), new Date(reads[0].to))
          .map((s) => [s.report.usageId, s.seconds.toString()])
          .sort();
      const everyReport = all.filter((u) => u.eventType === meter.eventType);
      expect(spans(view.reports.get('storage') ?? [])).toEqual(spans(everyReport));
      expect(spans(everyReport).length).toBeGreaterThan(3);
      if (tenant === 't1')
        expect(spans(view.reports.get('storage') ?? [])).toContainEqual(['g-1', String(15 * 86_400)]);
      // Fewer reports than the type has: the view reads the period's, not the history.
      expect(view.reports.get('storage')?.length).toBeLessThan(everyReport.length);
    }
  });

  it('a batch applied twice, or an older one after newer ones, changes nothing', async () => {
    const fold = new ReconciliationLedger(counting, db, tables, 37);
    await fold.catchUp(await head());
    const before = await kept();
    const batch = (await store.readAll({ after: 20n, maxCount: 80, eventTypes: ledgerEventTypes })).filter(
      reconciledEvents,
    );
    for (let i = 0; i < 2; i++)
      await db.transaction(async (tx) => tables.write(tx, foldBatch(await tables.load(tx, touchedBy(batch)), batch)));
    expect(await kept()).toEqual(before);
  });

  it('rebuilt from zero (checkpoint deleted) gives the same rows', async () => {
    const fold = new ReconciliationLedger(counting, db, tables, 500);
    await fold.catchUp(await head());
    const before = await kept();
    await db.query(`delete from "${schema}".reconciliation_ledger_checkpoint`);
    reads.events = 0;
    await fold.catchUp(await head());
    expect(reads.events).toBeGreaterThan(400);
    expect(await kept()).toEqual(before);
  });

  it('two runs catching up at once (two processes) take turns: the same rows as one fold', async () => {
    const other = await openAppDataSource({
      connectionString: testDatabaseUrl(),
      schema,
      migrations: billingMigrations,
    });
    try {
      await appendLedger(150);
      const upTo = await head();
      await Promise.all([
        new ReconciliationLedger(store, db, tables, 11).catchUp(upTo),
        new ReconciliationLedger(store, other, tables, 13).catchUp(upTo),
      ]);
      expect(await kept()).toEqual(await expected(upTo));
    } finally {
      await other.destroy();
    }
  });

  it('a connection lost in the middle of a catch-up fails that run; the next resumes from the checkpoint', async () => {
    await appendLedger(200);
    const upTo = await head();
    const from = await tables.position(db);
    // The third batch's usage write kills its own connection (as Postgres going away would), once: a sequence
    // counts outside the transaction, so the count survives the rollback.
    const admin = new Client({ connectionString: testDatabaseUrl() });
    await admin.connect();
    await admin.query(`
      create sequence "${schema}".fault_count;
      create function "${schema}".lose_connection() returns trigger language plpgsql as $$
        begin
          if nextval('"${schema}".fault_count') = 3 then perform pg_terminate_backend(pg_backend_pid()); end if;
          return null;
        end $$;
      create trigger lose_connection after insert on "${schema}".reconciliation_usage
        for each statement execute function "${schema}".lose_connection();`);
    try {
      const fold = new ReconciliationLedger(counting, db, tables, 19);
      await expect(fold.catchUp(upTo)).rejects.toThrow();
      const stopped = (await tables.position(db)) as bigint;
      expect(stopped).toBeGreaterThan(from as bigint);
      expect(stopped).toBeLessThan(upTo);
      // What the failed run committed is exactly the fold up to its checkpoint: nothing half applied.
      expect(await kept()).toEqual(await expected(stopped));
      const after = (await store.readAll({ after: stopped, maxCount: 10_000, eventTypes: ledgerEventTypes })).filter(
        (e) => e.globalPosition <= upTo,
      ).length;
      reads.events = 0;
      await fold.catchUp(upTo);
      expect(reads.events).toBe(after);
      expect(await kept()).toEqual(await expected(upTo));
    } finally {
      await admin.query(`drop trigger lose_connection on "${schema}".reconciliation_usage`);
      await admin.end();
    }
  });
});
