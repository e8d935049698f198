import { CreditNoteIssued, CreditNoteIssuedV1, isCreditNoteEvent } from '@tally/contracts/invoices';
import { StreamDecider } from '@tally/shared/util-core';

/** A credit note's stream (`creditnote-{tenant}_{id}`): issued once, never changed. */
export type CreditNote = CreditNoteIssuedV1 | null;

export interface IssueCreditNote {
  type: 'IssueCreditNote';
  data: CreditNoteIssuedV1;
}

export const creditNoteDecider: StreamDecider<IssueCreditNote, CreditNoteIssued, CreditNote> = {
  initialState: () => null,
  evolve: (state, event) => state ?? event.data,
  // Its id derives from (credited invoice, invoice it is issued with): issuing it again is a repeat.
  decide: (command, state) => (state ? [] : [{ type: 'CreditNoteIssued', data: command.data }]),
  events: isCreditNoteEvent,
};
