import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoiceStream } from '@tally/contracts/invoices';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { InvoiceChangesTail } from './invoice-changes-tail';

/** The tail over a real Postgres ledger: what it says about each subscription, and when it cannot say. */
describe('InvoiceChangesTail: which subscriptions’ invoices changed after a checkpoint', () => {
  const namespace = uniqueName('invtail');
  let store: PostgresEventStore;
  const a = { tenant: 't1', subscriptionId: 'a' };
  const b = { tenant: 't1', subscriptionId: 'b' };
  const other = { tenant: 't2', subscriptionId: 'a' };

  /** Appends one invoice event and returns its ledger position. */
  const append = async (type: string, data: Record<string, unknown>): Promise<bigint> => {
    await store.appendToStream(invoiceStream(String(data.tenant), randomUUID()), [{ id: randomUUID(), type, data }]);
    const [last] = (await store.readAll({})).slice(-1);
    return last.globalPosition;
  };
  const drafted = (s: { tenant: string; subscriptionId: string }) =>
    append('InvoiceDrafted', { tenant: s.tenant, subscriptionId: s.subscriptionId, invoiceId: randomUUID() });

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
  });

  afterAll(async () => {
    await store?.close();
    await dropSchemas(namespace);
  });

  it('names the subscriptions changed after the checkpoint, and only those', async () => {
    const tail = new InvoiceChangesTail(store);
    const start = await drafted(a);
    expect(await tail.unchangedAfter(start, [a, b, other])).toEqual([true, true, true]);
    const changed = await drafted(b);
    // Read after the call began: the change appended just before is seen.
    expect(await tail.unchangedAfter(start, [a, b, other])).toEqual([true, false, true]);
    // Once the projection's checkpoint has passed it, it no longer counts.
    expect(await tail.unchangedAfter(changed, [a, b, other])).toEqual([true, true, true]);
    // Events of other types are not standings (a re-draft changes lines only).
    await append('InvoiceRedrafted', { tenant: 't1', invoiceId: randomUUID() });
    expect(await tail.unchangedAfter(changed, [a, b])).toEqual([true, true]);
  });

  it('takes a void, which names no subscription, as a change to every subscription of its tenant', async () => {
    const tail = new InvoiceChangesTail(store);
    const start = await drafted(a);
    expect(await tail.unchangedAfter(start, [a])).toEqual([true]);
    await append('InvoiceVoided', { tenant: 't1', invoiceId: randomUUID(), reason: 'r', voidedAt: 'x' });
    expect(await tail.unchangedAfter(start, [a, b, other])).toEqual([false, false, true]);
  });

  it('cannot say for a checkpoint behind what it let go, or far behind the ledger', async () => {
    const tail = new InvoiceChangesTail(store, { page: 2, maxBehind: 5, keep: 100 });
    const first = await drafted(a);
    const second = await drafted(b);
    expect(await tail.unchangedAfter(second, [a, b])).toEqual([true, true]);
    // An older checkpoint (a concurrent ask that read it earlier): what came between was not kept.
    expect(await tail.unchangedAfter(first, [a, b])).toBeUndefined();
    // Read page by page (two at a time) past the checkpoint.
    for (let i = 0; i < 4; i++) await drafted(b);
    expect(await tail.unchangedAfter(second, [a, b])).toEqual([true, false]);
    // As many changes after a checkpoint it has not followed as its limit: it does not read them (a rebuild, a stall).
    const behind = new InvoiceChangesTail(store, { page: 2, maxBehind: 4, keep: 100 });
    expect(await behind.unchangedAfter(second, [a, b])).toBeUndefined();
  });
});
