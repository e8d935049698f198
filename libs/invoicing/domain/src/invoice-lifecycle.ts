/**
 * An invoice's life, folded from its ledger stream: none → draft (re-drafted while late usage arrives)
 * → finalized, or voided from either. Finalized and voided are final: nothing edits them.
 */
export type InvoiceStatus = 'none' | 'draft' | 'finalized' | 'voided';

export interface InvoiceEventLike {
  type: string;
  data: Record<string, unknown>;
}

export interface InvoiceState<Doc> {
  status: InvoiceStatus;
  /** The invoice as drafted, with the content of its latest (re)draft or finalization. */
  document: Doc | null;
  /** Stream revision of the last event (−1: none), for optimistic appends. */
  revision: bigint;
}

export const initialInvoiceState = <Doc>(): InvoiceState<Doc> => ({ status: 'none', document: null, revision: -1n });

export const evolveInvoice = <Doc extends object>(
  state: InvoiceState<Doc>,
  event: InvoiceEventLike,
): InvoiceState<Doc> => {
  const revision = state.revision + 1n;
  switch (event.type) {
    case 'InvoiceDrafted':
      return { status: 'draft', document: { ...(event.data as Doc), status: 'draft' }, revision };
    case 'InvoiceRedrafted': {
      const { lines, subtotal, total, redraftedAt } = event.data;
      return { ...state, document: { ...(state.document as Doc), lines, subtotal, total, redraftedAt }, revision };
    }
    case 'InvoiceFinalized':
      return {
        status: 'finalized',
        document: { ...(state.document as Doc), ...(event.data as Doc), status: 'finalized' },
        revision,
      };
    case 'InvoiceVoided': {
      const { reason, voidedAt } = event.data;
      return {
        status: 'voided',
        document: { ...(state.document as Doc), status: 'voided', voidReason: reason, voidedAt },
        revision,
      };
    }
    default:
      return { ...state, revision };
  }
};

/** What may happen to an invoice in a state; refusals are DomainError codes in the feature. */
export const canFinalize = (status: InvoiceStatus): boolean => status === 'draft';
export const canVoid = (status: InvoiceStatus): boolean => status === 'draft' || status === 'finalized';
