import {
  creditNoteIssuedType,
  CreditNoteIssuedV1,
  invoiceDraftedType,
  invoiceEventTypes,
  InvoiceDraftedV1,
} from '@tally/contracts/invoices';
import { InvoiceTables } from '@tally/invoicing/data-access-billing';
import { evolveInvoice, initialInvoiceState, InvoiceState } from '@tally/invoicing/domain';
import { Projection } from '@tally/shared/data-access-postgres';

/** Invoices and credit notes as documents (each invoice's stream folded), for listing and reconciliation. */
export const invoiceProjection = (tables: InvoiceTables): Projection => ({
  name: 'invoicing_invoices',
  eventTypes: invoiceEventTypes,
  tables: InvoiceTables.tables,
  apply: async (tx, events) => {
    for (const event of events) {
      const tenant = String(event.data.tenant);
      if (event.type === creditNoteIssuedType) {
        const note = event.data as unknown as CreditNoteIssuedV1;
        await tables.saveCreditNote(tx, tenant, {
          creditNoteId: note.creditNoteId,
          invoiceId: note.invoiceId,
          accountId: note.accountId,
          document: { ...note },
          position: event.globalPosition.toString(),
        });
        continue;
      }
      const invoiceId = String(event.data.invoiceId);
      const row = await tables.invoice(tx, tenant, invoiceId);
      const state: InvoiceState<Record<string, unknown>> = row
        ? { status: row.status as InvoiceState<object>['status'], document: row.document, revision: 0n }
        : initialInvoiceState();
      if (!row && event.type !== invoiceDraftedType) continue;
      const next = evolveInvoice(state, event);
      const doc = next.document as unknown as InvoiceDraftedV1;
      await tables.upsert(tx, tenant, {
        invoiceId,
        accountId: doc.accountId,
        subscriptionId: doc.subscriptionId,
        periodLabel: doc.period.label,
        periodStart: doc.period.start,
        status: next.status,
        document: next.document as Record<string, unknown>,
        finalizedPosition:
          next.status === 'finalized' && state.status !== 'finalized' ? event.globalPosition.toString() : null,
      });
    }
  },
});
