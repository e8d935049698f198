import {
  CostThresholdCrossed,
  invoiceEventSubject,
  InvoicingEvent,
  invoicingStream,
  isInvoicingEvent,
} from '@tally/contracts/invoices';
import { Consumer } from '@tally/shared/data-access-messaging';
import { Projection } from '@tally/shared/data-access-postgres';
import { ledgerRelay, startSignedWebhooks, TallyRuntime } from '@tally/shared/feature-runtime';
import { eventsOf } from '@tally/shared/util-core';

/** What the relay publishes: the invoice events and cost budget alerts (`invoicing.evt.cost-threshold-crossed.v1`). */
type RelayedEvent = InvoicingEvent | CostThresholdCrossed;
const relayed = eventsOf<RelayedEvent>({
  ...Object.fromEntries(isInvoicingEvent.types.map((type) => [type, true])),
  CostThresholdCrossed: true,
} as Record<RelayedEvent['type'], true>);

/** Invoice events go from the ledger to NATS (`invoicing.evt.<event>.v1`), then to the invoice webhook — as budget alerts do. */
export const invoiceEventRelay = (runtime: TallyRuntime): Projection<RelayedEvent> =>
  ledgerRelay(runtime, { name: 'invoicing_event_relay', formerNames: ['invoice_event_relay'] }, relayed, (event) =>
    invoiceEventSubject(event.type),
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
