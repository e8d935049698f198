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
  const period = { label: '2026-11', start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
  const drafted = (s: { tenant: string; subscriptionId: string }, invoiceId = randomUUID()) =>
    append('InvoiceDrafted', { tenant: s.tenant, subscriptionId: s.subscriptionId, invoiceId, period });
  const draftedPeriod = { start: period.start, end: period.end };
  /** Each subscription's answer: unchanged, drafted (that many drafts to fold in), or changed otherwise. */
  const said = (answers: (unknown[] | undefined)[] | undefined) =>
    answers?.map((drafts) => (drafts === undefined ? 'changed' : drafts.length === 0 ? 'unchanged' : drafts.length));

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
  });

  afterAll(async () => {
    await store?.close();
    await dropSchemas(namespace);
  });

  /** What the standings projection's rows would say of voided invoices: here, the ones `known` names. */
  const known = new Map<string, string>();
  const rows = async (_tenant: string, ids: readonly string[]) =>
    new Map(ids.filter((id) => known.has(id)).map((id) => [id, known.get(id) as string]));

  it('names the drafts after the checkpoint with their periods, and any other change as a change', async () => {
    const tail = new InvoiceChangesTail(store, rows);
    const start = await drafted(a);
    expect(said(await tail.draftsAfter(start, [a, b, other]))).toEqual(['unchanged', 'unchanged', 'unchanged']);
    const invoiceOfB = randomUUID();
    const draftOfB = await drafted(b, invoiceOfB);
    // Read after the call began: the draft appended just before is seen, with its period (the caller folds it in).
    expect(await tail.draftsAfter(start, [a, b, other])).toEqual([[], [draftedPeriod], []]);
    // Once the projection's checkpoint has passed it, it no longer counts.
    expect(said(await tail.draftsAfter(draftOfB, [a, b, other]))).toEqual(['unchanged', 'unchanged', 'unchanged']);
    // Events of other types are not standings (a re-draft changes lines only).
    await append('InvoiceRedrafted', { tenant: 't1', invoiceId: invoiceOfB });
    expect(said(await tail.draftsAfter(draftOfB, [a, b]))).toEqual(['unchanged', 'unchanged']);
    // A finalization is a change the caller cannot fold: the subscription goes the long way.
    await append('InvoiceFinalized', { tenant: 't1', subscriptionId: 'b', invoiceId: invoiceOfB, period });
    expect(said(await tail.draftsAfter(draftOfB, [a, b]))).toEqual(['unchanged', 'changed']);
    expect(said(await tail.draftsAfter(start, [a, b]))).toEqual(['unchanged', 'changed']);
  });

  it('a void names only its invoice: told by a draft it read, or the projection’s rows, or else the whole tenant', async () => {
    const tail = new InvoiceChangesTail(store, rows);
    const start = await drafted(a);
    expect(said(await tail.draftsAfter(start, [a]))).toEqual(['unchanged']);
    // The void of an invoice whose draft the tail read: that subscription.
    const invoiceOfB = randomUUID();
    await drafted(b, invoiceOfB);
    const drafts = said(await tail.draftsAfter(start, [a, b]));
    const voidOfB = await append('InvoiceVoided', { tenant: 't1', invoiceId: invoiceOfB, reason: 'r', voidedAt: 'x' });
    expect([drafts, said(await tail.draftsAfter(start, [a, b]))]).toEqual([
      ['unchanged', 1],
      ['unchanged', 'changed'],
    ]);
    // The void of an invoice drafted before the tail began: the projection's rows say whose.
    const older = randomUUID();
    known.set(older, 'a');
    await append('InvoiceVoided', { tenant: 't1', invoiceId: older, reason: 'r', voidedAt: 'x' });
    expect(said(await tail.draftsAfter(voidOfB, [a, b, other]))).toEqual(['changed', 'unchanged', 'unchanged']);
    // Nobody knows it: every subscription of its tenant counts as changed.
    const last = await append('InvoiceVoided', { tenant: 't1', invoiceId: randomUUID(), reason: 'r', voidedAt: 'x' });
    expect(said(await tail.draftsAfter(voidOfB, [a, b, other]))).toEqual(['changed', 'changed', 'unchanged']);
    expect(said(await tail.draftsAfter(last, [a, b, other]))).toEqual(['unchanged', 'unchanged', 'unchanged']);
  });

  it('cannot say for a checkpoint behind what it remembers from, or far behind the ledger', async () => {
    const tail = new InvoiceChangesTail(store, rows, { page: 2, maxBehind: 5, keep: 1, recountAfterMs: 0 });
    const first = await drafted(a);
    const second = await drafted(b);
    expect(said(await tail.draftsAfter(second, [a, b]))).toEqual(['unchanged', 'unchanged']);
    // An older checkpoint (a concurrent ask that read it earlier): what came between is not remembered.
    expect(await tail.draftsAfter(first, [a, b])).toBeUndefined();
    // Read page by page (two at a time) past the checkpoint.
    for (let i = 0; i < 3; i++) await drafted(b);
    const third = await drafted(a);
    expect(said(await tail.draftsAfter(second, [a, b]))).toEqual([1, 3]);
    // More remembered than it keeps: what the latest checkpoint passed is let go, and it answers from there only.
    expect(said(await tail.draftsAfter(third, [a, b]))).toEqual(['unchanged', 'unchanged']);
    expect(await tail.draftsAfter(second, [a, b])).toBeUndefined();
    // As many changes after a checkpoint it has not followed as its limit: it does not read them (a rebuild, a stall),
    // and says so once — not at every ask — then once more when it follows again.
    const told: string[] = [];
    const watcher = {
      farBehind: (n: number) => told.push(`far behind: ${n}`),
      following: () => told.push('following'),
    };
    const limits = { page: 2, maxBehind: 4, keep: 100, recountAfterMs: 0 };
    const behind = new InvoiceChangesTail(store, rows, limits, watcher);
    expect(await behind.draftsAfter(second, [a, b])).toBeUndefined();
    expect(await behind.draftsAfter(second, [a, b])).toBeUndefined();
    expect(told).toEqual(['far behind: 4']);
    expect(said(await behind.draftsAfter(third, [a, b]))).toEqual(['unchanged', 'unchanged']);
    expect(said(await behind.draftsAfter(third, [a, b]))).toEqual(['unchanged', 'unchanged']);
    expect(told).toEqual(['far behind: 4', 'following']);
  });

  it('a page read again after a failed one counts its drafts once', async () => {
    let failing = true;
    const flaky = async (tenant: string, ids: readonly string[]) => {
      if (failing) {
        failing = false;
        throw new Error('connection lost');
      }
      return rows(tenant, ids);
    };
    const tail = new InvoiceChangesTail(store, flaky);
    const start = await drafted(a);
    await tail.draftsAfter(start, [a]);
    await drafted(b);
    // A void nobody knows (of another tenant): placing it fails once, after the page's draft was noted.
    await append('InvoiceVoided', { tenant: 't2', invoiceId: randomUUID(), reason: 'r', voidedAt: 'x' });
    await expect(tail.draftsAfter(start, [b])).rejects.toThrow('connection lost');
    expect(said(await tail.draftsAfter(start, [b, other]))).toEqual([1, 'changed']);
  });

  it('concurrent asks share reads, each answered from a read begun after it asked', async () => {
    const tail = new InvoiceChangesTail(store, rows);
    const start = await drafted(a);
    await tail.draftsAfter(start, [a]);
    const answers = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => {
        if (i % 2 === 0) await drafted({ tenant: 't1', subscriptionId: `c${i}` });
        return said(await tail.draftsAfter(start, [{ tenant: 't1', subscriptionId: `c${i}` }]));
      }),
    );
    expect(answers).toEqual([[1], ['unchanged'], [1], ['unchanged'], [1], ['unchanged']]);
  });
});
