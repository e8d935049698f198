import { InvoicingEvent, isInvoicingEvent } from '@tally/contracts/invoices';
import { InvoiceTables, StandingSummaryRow } from '@tally/invoicing/data-access-billing';
import {
  emptyStandingSummary,
  evolveStandingSummary,
  initialInvoice,
  Invoice,
  invoiceDecider,
  standingOf,
} from '@tally/invoicing/domain';
import { Projection } from '@tally/shared/data-access-postgres';
import { RecordedEvent } from '@tally/shared/data-access-event-store';
import { EntityManager } from 'typeorm';

const key = (tenant: string, subscriptionId: string) => `${tenant}\u0000${subscriptionId}`;

/**
 * Invoices and credit notes as documents (each invoice's stream folded), for listing and reconciliation; and each
 * subscription's standing summary (its invoices as re-rating decides on them), which billing reads instead of every
 * earlier invoice's row.
 */
export const invoiceProjection = (tables: InvoiceTables): Projection<InvoicingEvent> => ({
  name: 'invoicing_invoices',
  eventTypes: isInvoicingEvent.types,
  tables: InvoiceTables.tables,
  apply: async (tx, events) => {
    const summaries = await summariesOf(tx, tables, events);
    const changed = new Set<string>();
    for (const event of events) {
      const { tenant } = event.data;
      if (event.type === 'CreditNoteIssued') {
        const note = event.data;
        await tables.saveCreditNote(tx, tenant, {
          creditNoteId: note.creditNoteId,
          invoiceId: note.invoiceId,
          accountId: note.accountId,
          document: note,
          position: event.globalPosition.toString(),
        });
        continue;
      }
      const { invoiceId } = event.data;
      const row = await tables.invoice(tx, tenant, invoiceId);
      if (!row && event.type !== 'InvoiceDrafted') continue;
      // Already folded into the row (a batch applied again): a second fold would count it twice in the summary.
      if (typeof row?.revision === 'bigint' && row.revision >= event.streamRevision) continue;
      const state: Invoice = row ? { status: row.status, document: row.document } : initialInvoice();
      // The same fold as the decider's: the projection cannot disagree with what the lifecycle decides on.
      const next = invoiceDecider.evolve(state, event);
      if (!next.document) continue;
      const doc = next.document;
      const finalizedPosition =
        next.status === 'finalized' && state.status !== 'finalized' ? event.globalPosition.toString() : null;
      await tables.upsert(tx, tenant, {
        invoiceId,
        accountId: doc.accountId,
        subscriptionId: doc.subscriptionId,
        periodLabel: doc.period.label,
        periodStart: doc.period.start,
        status: doc.status,
        document: doc,
        finalizedPosition,
        // Billing takes the row for the stream's fold while the stream is still at this revision (invoices.service).
        revision: event.streamRevision,
        settled: next.settled ?? null,
      });
      const summary = summaries.get(key(tenant, doc.subscriptionId));
      if (!summary) continue; // not reachable: every invoice event's subscription was looked up above
      summary.summary = evolveStandingSummary(summary.summary, {
        period: doc.period,
        before: standingOf(state),
        // The summary takes the status before, and after it the finalization's position and settlement.
        after: standingOf({
          ...next,
          document: { ...doc, finalizedPosition: finalizedPosition ?? row?.finalizedPosition ?? undefined },
        }),
      });
      changed.add(key(tenant, doc.subscriptionId));
    }
    await tables.saveSummaries(
      tx,
      [...changed].map((k) => {
        const [tenant, subscriptionId] = k.split('\u0000');
        return { tenant, subscriptionId, ...(summaries.get(k) as StandingSummaryRow) };
      }),
    );
  },
});

/**
 * The standing summaries of every subscription the batch's invoice events are about, before any of them is applied
 * (a new summary is complete only if its subscription had no invoice yet). A void or re-draft names no subscription:
 * its invoice's row (or the batch's own InvoiceDrafted) does.
 */
const summariesOf = async (
  tx: EntityManager,
  tables: InvoiceTables,
  events: readonly RecordedEvent<InvoicingEvent>[],
): Promise<Map<string, StandingSummaryRow>> => {
  const subscriptionOf = new Map<string, string>();
  const unnamed: { tenant: string; invoiceId: string }[] = [];
  for (const event of events)
    if (event.type === 'InvoiceDrafted' || event.type === 'InvoiceFinalized')
      subscriptionOf.set(key(event.data.tenant, event.data.invoiceId), event.data.subscriptionId);
  for (const event of events)
    if (
      (event.type === 'InvoiceVoided' || event.type === 'InvoiceRedrafted') &&
      !subscriptionOf.has(key(event.data.tenant, event.data.invoiceId))
    )
      unnamed.push({ tenant: event.data.tenant, invoiceId: event.data.invoiceId });
  for (const { tenant, invoiceId } of unnamed) {
    const row = await tables.invoice(tx, tenant, invoiceId);
    if (row) subscriptionOf.set(key(tenant, invoiceId), row.subscriptionId);
  }
  const keys = new Map<string, { tenant: string; subscriptionId: string }>();
  for (const [invoiceKey, subscriptionId] of subscriptionOf) {
    const tenant = invoiceKey.split('\u0000')[0];
    keys.set(key(tenant, subscriptionId), { tenant, subscriptionId });
  }
  if (keys.size === 0) return new Map();
  const found = await tables.summariesToFold(tx, [...keys.values()]);
  return new Map(
    found.map((f) => [
      key(f.tenant, f.subscriptionId),
      f.row ?? { complete: !f.hadInvoices, summary: emptyStandingSummary() },
    ]),
  );
};
