import type { components } from '@tally/client/http';
import { usageBehindPath } from '../drill-down';
import { formatMoney, formatQuantity } from '../format';
import { Link } from './link';

/** What the upcoming invoice and an issued one share: enough to list the lines. */
export type InvoiceLike = Pick<
  components['schemas']['Invoice'],
  'invoiceId' | 'accountId' | 'subscriptionId' | 'currency' | 'period' | 'lines' | 'subtotal' | 'total'
>;
type Line = InvoiceLike['lines'][number];

const describe = (line: Line) => (line.kind === 'adjustment' ? `adjusts ${line.adjusts.period}` : line.segment.planId);

/**
 * An invoice (upcoming or issued): every line's quantity and precise amount, the exact subtotal and the rounded
 * total. Each quantity links to the usage behind it (the account page filtered to the line's period, meter and app).
 */
export const InvoiceLines = ({ invoice, locale }: { invoice: InvoiceLike; locale?: string }) => {
  const money = (value: string) => formatMoney(value, invoice.currency, locale);
  return (
    <table className="invoice" data-invoice={invoice.invoiceId}>
      <caption>
        Period {invoice.period.label}, subscription <code>{invoice.subscriptionId}</code>
      </caption>
      <thead>
        <tr>
          <th scope="col">Meter</th>
          <th scope="col">App</th>
          <th scope="col">Plan</th>
          <th scope="col" className="number">
            Quantity
          </th>
          <th scope="col" className="number">
            Free allowance used
          </th>
          <th scope="col" className="number">
            Amount
          </th>
        </tr>
      </thead>
      <tbody>
        {invoice.lines.length === 0 && (
          <tr>
            <td colSpan={6}>No lines yet.</td>
          </tr>
        )}
        {invoice.lines.map((line, i) => (
          <tr key={`${line.meter}:${line.perValue}:${line.tier}:${i}`} data-testid="invoice-line">
            <td>
              <code>{line.meter}</code>
              {line.tier !== null && ` · tier ${line.tier}`}
            </td>
            <td>{line.perValue ?? '—'}</td>
            <td>{describe(line)}</td>
            <td className="number">
              <Link
                href={usageBehindPath(invoice.accountId, invoice.period.label, line)}
                aria-label={`${formatQuantity(line.quantity, locale)}: the usage behind ${line.meter}${line.perValue ? ` for ${line.perValue}` : ''}`}
                data-testid="usage-behind"
              >
                {formatQuantity(line.quantity, locale)}
              </Link>
            </td>
            <td className="number">{formatQuantity(line.allowanceApplied, locale)}</td>
            <td className="number">{money(line.amount)}</td>
          </tr>
        ))}
      </tbody>
      <tfoot>
        <tr>
          <th scope="row" colSpan={5}>
            Subtotal (exact)
          </th>
          <td className="number" data-testid="invoice-subtotal">
            {money(invoice.subtotal)}
          </td>
        </tr>
        <tr className="grand-total">
          <th scope="row" colSpan={5}>
            Total
          </th>
          <td className="number" data-testid="invoice-total">
            {money(invoice.total)}
          </td>
        </tr>
      </tfoot>
    </table>
  );
};
