import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { render, texts } from '../test-render';
import { CreditNotes, InvoiceHistory } from './invoice-history';

const period = { label: '2026-11', start: '2026-11-01T00:00:00Z', end: '2026-12-01T00:00:00Z' };
const invoice = (status: 'draft' | 'finalized' | 'voided', total: string): components['schemas']['Invoice'] => ({
  invoiceId: `0190c7a4-0000-7000-8000-00000000000${status.length}`,
  accountId: 'vendor',
  subscriptionId: 'vendor-forge',
  tenant: 'default',
  currency: 'EUR',
  period,
  lines: [],
  subtotal: total,
  total,
  status,
  draftedAt: '2026-12-01T00:00:00Z',
  finalizesAt: '2026-12-02T00:00:00Z',
});

describe('InvoiceHistory and CreditNotes', () => {
  it('lists each invoice’s period (a link to it), status and total in its currency and the account’s locale', () => {
    const page = render(
      <InvoiceHistory invoices={[invoice('finalized', '1.7'), invoice('voided', '0')]} locale="en-US" />,
    );
    expect(texts(page, '[data-testid=invoice-status]')).toEqual(['finalized', 'voided']);
    expect(texts(page, '[data-testid=invoice-row-total]')).toEqual(['€1.70', '€0.00']);
    expect(page.querySelector('th a')?.getAttribute('href')).toBe('/invoices/0190c7a4-0000-7000-8000-000000000009');
  });

  it('lists credit notes with what is owed back', () => {
    const note: components['schemas']['CreditNote'] = {
      creditNoteId: '0190c7a4-0000-7000-8000-00000000000a',
      invoiceId: '0190c7a4-0000-7000-8000-000000000009',
      issuedWith: '0190c7a4-0000-7000-8000-00000000000b',
      accountId: 'vendor',
      subscriptionId: 'vendor-forge',
      tenant: 'default',
      currency: 'EUR',
      period: '2026-11',
      issuedAt: '2027-01-02T00:00:00Z',
      lines: [],
      subtotal: '-0.2',
      total: '0.20',
    };
    const page = render(<CreditNotes creditNotes={[note]} timeZone="UTC" locale="de-DE" />);
    expect(texts(page, '[data-testid=credit-note-total]')).toEqual(['0,20\u00a0€']);
  });

  it('says so when there is nothing yet', () => {
    expect(render(<InvoiceHistory invoices={[]} locale="en-US" />).textContent).toContain('No invoice issued yet');
    expect(render(<CreditNotes creditNotes={[]} timeZone="UTC" locale="en-US" />).textContent).toContain(
      'No credit note',
    );
  });
});
