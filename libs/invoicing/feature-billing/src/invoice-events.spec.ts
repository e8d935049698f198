import { describe, expect, it } from 'vitest';
import type { TallyRuntime } from '@tally/shared/feature-runtime';
import { invoiceEventRelay } from './invoice-events';

describe('the invoicing relay', () => {
  it('publishes cost budget alerts beside the invoice events (NATS, then the invoice webhook)', () =>
    expect(invoiceEventRelay({} as TallyRuntime).eventTypes).toEqual(
      expect.arrayContaining(['InvoiceFinalized', 'CreditNoteIssued', 'CostThresholdCrossed']),
    ));
});
