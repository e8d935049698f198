import { InvoicingEvent, isInvoicingEvent } from '@tally/contracts/invoices';
import { InvoiceTables } from '@tally/invoicing/data-access-billing';
import { initialInvoice, Invoice, invoiceDecider } from '@tally/invoicing/domain';
import { Projection } from '@tally/shared/data-access-postgres';

/** Invoices and credit notes as documents (each invoice's stream folded), for listing and reconciliation. */
export const invoiceProjection = (tables: InvoiceTables): Projection<InvoicingEvent> => ({
  name: 'invoicing_invoices',
  eventTypes: isInvoicingEvent.types,
  tables: InvoiceTables.tables,
  apply: async (tx, events) => {
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
      const state: Invoice = row ? { status: row.status, document: row.document } : initialInvoice();
      // The same fold as the decider's: the projection cannot disagree with what the lifecycle decides on.
      const next = invoiceDecider.evolve(state, event);
      if (!next.document) continue;
      const doc = next.document;
      await tables.upsert(tx, tenant, {
        invoiceId,
        accountId: doc.accountId,
        subscriptionId: doc.subscriptionId,
        periodLabel: doc.period.label,
        periodStart: doc.period.start,
        status: doc.status,
        document: doc,
        finalizedPosition:
          next.status === 'finalized' && state.status !== 'finalized' ? event.globalPosition.toString() : null,
        // Billing takes the row for the stream's fold while the stream is still at this revision (invoices.service).
        revision: event.streamRevision,
        settled: next.settled ?? null,
      });
    }
  },
});
