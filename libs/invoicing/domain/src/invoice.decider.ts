import {
  InvoiceDraftedV1,
  InvoiceEvent,
  InvoiceFinalizedV1,
  InvoiceRedraftedV1,
  InvoiceVoidedV1,
  isInvoiceEvent,
} from '@tally/contracts/invoices';
import { canonicalJson, StreamDecider, unhandledEvent } from '@tally/shared/util-core';
import { refuse } from './errors';
import type { Settlement } from './rerating';

/**
 * An invoice's life, folded from its ledger stream (`invoice-{tenant}_{id}`): none → draft (re-drafted
 * while late usage arrives during the grace period) → finalized, or voided from draft or finalized.
 * Finalized and voided are final: no event edits them.
 */
export type InvoiceStatus = 'none' | 'draft' | 'finalized' | 'voided';

/** An invoice as its stream folds: the drafted document with its latest content, then finalization or void. */
export type InvoiceDocument = InvoiceDraftedV1 &
  Partial<Pick<InvoiceFinalizedV1, 'finalizedAt' | 'trigger' | 'creditNotes'>> & {
    status: Exclude<InvoiceStatus, 'none'>;
    redraftedAt?: string;
    voidReason?: string;
    voidedAt?: string;
    /** Ledger position of InvoiceFinalized: what the invoice could have seen (set by the reader, not the stream). */
    finalizedPosition?: string;
  };

export interface Invoice {
  status: InvoiceStatus;
  document: InvoiceDocument | null;
  /** What its finalization settled (beside the document: billing's bookkeeping, not a field of the invoice the API shows). */
  settled?: Settlement;
}

/**
 * What may be asked of an invoice. Its content (lines, totals, credit notes) is rated at the edge and
 * arrives in the command; the decider rules on the lifecycle only.
 */
export type InvoiceCommand =
  | { type: 'DraftInvoice'; data: InvoiceDraftedV1 }
  | { type: 'RedraftInvoice'; data: InvoiceRedraftedV1 }
  | { type: 'FinalizeInvoice'; data: InvoiceFinalizedV1 }
  /** `onlyDraft`: the system voiding a draft it no longer needs — anything but a draft is left as it is. */
  | { type: 'VoidInvoice'; data: InvoiceVoidedV1; onlyDraft?: boolean };

export const initialInvoice = (): Invoice => ({ status: 'none', document: null });

export const evolveInvoice = (state: Invoice, event: InvoiceEvent): Invoice => {
  if (event.type === 'InvoiceDrafted') return { status: 'draft', document: { ...event.data, status: 'draft' } };
  const document = state.document;
  if (!document) return state; // not reachable through the decider: every stream starts with InvoiceDrafted
  switch (event.type) {
    case 'InvoiceRedrafted': {
      const { lines, subtotal, total, redraftedAt } = event.data;
      return { ...state, document: { ...document, lines, subtotal, total, redraftedAt } };
    }
    case 'InvoiceFinalized': {
      const { settled, ...finalized } = event.data;
      return {
        status: 'finalized',
        document: { ...document, ...finalized, status: 'finalized' },
        ...(settled && { settled }),
      };
    }
    case 'InvoiceVoided': {
      const { reason, voidedAt } = event.data;
      return { status: 'voided', document: { ...document, status: 'voided', voidReason: reason, voidedAt } };
    }
    default:
      return unhandledEvent(event);
  }
};

const existing = (state: Invoice, invoiceId: string): Invoice =>
  state.status === 'none' ? refuse('unknown_invoice', `no invoice ${invoiceId}`) : state;

export const decideInvoice = (command: InvoiceCommand, state: Invoice): InvoiceEvent[] => {
  const { invoiceId } = command.data;
  switch (command.type) {
    case 'DraftInvoice':
      // One invoice per (subscription, period): drafting it again is a repeat, not a second invoice.
      return state.status === 'none' ? [{ type: 'InvoiceDrafted', data: command.data }] : [];
    case 'RedraftInvoice': {
      const { status, document } = existing(state, invoiceId);
      if (status !== 'draft')
        return refuse('invoice_not_draft', `invoice ${invoiceId} is ${status}; only a draft is re-rated`);
      // Canonical: lines read back from the ledger's jsonb have their keys in another order.
      if (canonicalJson(document?.lines) === canonicalJson(command.data.lines)) return [];
      return [{ type: 'InvoiceRedrafted', data: command.data }];
    }
    case 'FinalizeInvoice': {
      const { status } = existing(state, invoiceId);
      if (status !== 'draft')
        return refuse('invoice_not_draft', `invoice ${invoiceId} is ${status}; only a draft can be finalized`);
      return [{ type: 'InvoiceFinalized', data: command.data }];
    }
    case 'VoidInvoice': {
      const { status } = existing(state, invoiceId);
      if (command.onlyDraft && status !== 'draft') return [];
      if (status === 'voided') return refuse('invoice_already_voided', `invoice ${invoiceId} is already void`);
      return [{ type: 'InvoiceVoided', data: command.data }];
    }
  }
};

export const invoiceDecider: StreamDecider<InvoiceCommand, InvoiceEvent, Invoice> = {
  decide: decideInvoice,
  evolve: evolveInvoice,
  initialState: initialInvoice,
  events: isInvoiceEvent,
};

/** Finalizing needs a draft: checked before the content is rated (costly), and again by the decider at append. */
export const requireDraft = (state: Invoice, invoiceId: string): InvoiceDocument => {
  const { status, document } = existing(state, invoiceId);
  if (status !== 'draft' || !document)
    return refuse('invoice_not_draft', `invoice ${invoiceId} is ${status}; only a draft can be finalized`);
  return document;
};
