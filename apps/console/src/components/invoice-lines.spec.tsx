import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { render, texts } from '../test-render';
import { InvoiceLines } from './invoice-lines';

type UsageLine = components['schemas']['UsageLine'];

const segment = { planId: 'forge', planVersion: 1, from: '2026-07-01T00:00:00Z', to: '2026-08-01T00:00:00Z' };
const line = (meter: string, app: string, quantity: string, allowance: string, amount: string): UsageLine => ({
  kind: 'usage',
  meter,
  model: 'graduated',
  per: 'app',
  perValue: app,
  quantity,
  allowanceApplied: allowance,
  units: quantity,
  unitPrice: '0.000025',
  flatPrice: '0',
  amount,
  tier: 2,
  segment,
});

const invoice = (lines: UsageLine[], subtotal: string, total: string): components['schemas']['UpcomingInvoice'] => ({
  status: 'upcoming',
  invoiceId: '0190c7a4-0000-7000-8000-000000000001',
  accountId: 'vendor',
  subscriptionId: 'vendor-forge',
  currency: 'USD',
  period: { label: '2026-07', start: '2026-07-01T00:00:00Z', end: '2026-08-01T00:00:00Z' },
  lines,
  subtotal,
  total,
  pendingCreditNotes: [],
  ratedAt: '2026-07-15T00:00:00Z',
  projection: { lines: [], subtotal: '0', total: '0', to: '2026-08-01T00:00:00Z' },
});

describe('InvoiceLines', () => {
  it('shows each line in the currency with every digit, the exact subtotal and the rounded total', () => {
    // 250,000 GB-s with 200,000 free: 50,000 × 0.000025 = 1.25 per app; 0.15 GB of reads, 0.1 free: 0.05 × 0.055 = 0.00275
    const page = render(
      <InvoiceLines
        invoice={invoice(
          [
            line('forge-functions', 'app-1', '250000', '200000', '1.25'),
            line('forge-kvs-reads', 'app-1', '0.15', '0.1', '0.00275'),
          ],
          '1.25275',
          '1.25',
        )}
      />,
    );
    expect(texts(page, '[data-testid=invoice-line] td:last-child')).toEqual(['$1.25', '$0.00275']);
    expect(texts(page, '[data-testid=invoice-line] td:nth-child(4)')).toEqual(['250,000', '0.15']);
    expect(texts(page, '[data-testid=invoice-subtotal]')).toEqual(['$1.25275']);
    expect(texts(page, '[data-testid=invoice-total]')).toEqual(['$1.25']);
    expect([...page.querySelectorAll('[data-testid=usage-behind]')].map((a) => a.getAttribute('href'))).toEqual([
      '/accounts/vendor?period=2026-07&filterAttribute[app]=app-1&meter=forge-functions',
      '/accounts/vendor?period=2026-07&filterAttribute[app]=app-1&meter=forge-kvs-reads',
    ]);
  });

  it('formats in the locale it is given', () => {
    const page = render(
      <InvoiceLines
        invoice={invoice([line('forge-functions', 'app-1', '250000', '200000', '1.25')], '1.25', '1.25')}
        locale="de-DE"
      />,
    );
    expect(texts(page, '[data-testid=invoice-line] td:nth-child(4)')).toEqual(['250.000']);
    expect(texts(page, '[data-testid=invoice-total]')).toEqual(['1,25\u00a0$']);
  });

  it('says so when the period has no line yet', () => {
    const page = render(<InvoiceLines invoice={invoice([], '0', '0')} />);
    expect(page.querySelector('tbody')?.textContent).toBe('No lines yet.');
    expect(texts(page, '[data-testid=invoice-total]')).toEqual(['$0.00']);
  });
});
