import { invoiceEventSubject, InvoicingEvent, invoicingStream, isInvoicingEvent } from '@tally/contracts/invoices';
import { Consumer } from '@tally/shared/data-access-messaging';
import { Projection } from '@tally/shared/data-access-postgres';
import { ledgerRelay, startSignedWebhooks, TallyRuntime } from '@tally/shared/feature-runtime';

/** Invoice events go from the ledger to NATS (`invoicing.evt.<event>.v1`), then to the invoice webhook — as budget alerts do. */
export const invoiceEventRelay = (runtime: TallyRuntime): Projection<InvoicingEvent> =>
  ledgerRelay(
    runtime,
    { name: 'invoicing_event_relay', formerNames: ['invoice_event_relay'] },
    isInvoicingEvent,
    (event) => invoiceEventSubject(event.type),
  );

export const startInvoiceWebhooks = (runtime: TallyRuntime): Promise<Consumer | undefined> =>
  startSignedWebhooks(runtime, {
    kind: 'invoice',
    url: runtime.config.TALLY_INVOICE_WEBHOOK_URL,
    secrets: runtime.config.TALLY_INVOICE_WEBHOOK_SECRET,
    urlVariable: 'TALLY_INVOICE_WEBHOOK_URL',
    secretVariable: 'TALLY_INVOICE_WEBHOOK_SECRET',
    stream: { name: invoicingStream.name, subjects: [...invoicingStream.subjects] },
    durable: 'invoicing_invoice_webhooks',
    filterSubject: 'invoicing.evt.>',
  });
