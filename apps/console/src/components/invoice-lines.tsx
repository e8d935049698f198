import type { components } from '@tally/client/http';
import { formatMoney, formatQuantity } from '../format';

type UpcomingInvoice = components['schemas']['UpcomingInvoice'];
type Line = UpcomingInvoice['lines'][number];

const describe = (line: Line) => (line.kind === 'adjustment' ? `adjusts ${line.adjusts.period}` : line.segment.planId);

/** The upcoming invoice: every line's quantity and precise amount, the exact subtotal and the rounded total. */
export const InvoiceLines = ({ invoice }: { invoice: UpcomingInvoice }) => {
  const money = (value: string) => formatMoney(value, invoice.currency);
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
            <td className="number">{formatQuantity(line.quantity)}</td>
            <td className="number">{formatQuantity(line.allowanceApplied)}</td>
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
