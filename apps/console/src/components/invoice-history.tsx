import type { components } from '@tally/client/http';
import { formatInstant, formatMoney } from '../format';
import { invoicePath } from '../router';
import { Link } from './link';

type Invoice = components['schemas']['Invoice'];
type CreditNote = components['schemas']['CreditNote'];

/** The account's issued invoices, oldest period first as the API lists them: period, status, total. */
export const InvoiceHistory = ({ invoices, locale }: { invoices: readonly Invoice[]; locale: string }) =>
  invoices.length === 0 ? (
    <p>No invoice issued yet: the first is drafted when a billing period ends.</p>
  ) : (
    <table className="history">
      <thead>
        <tr>
          <th scope="col">Period</th>
          <th scope="col">Status</th>
          <th scope="col">Subscription</th>
          <th scope="col" className="number">
            Total
          </th>
        </tr>
      </thead>
      <tbody>
        {invoices.map((invoice) => (
          <tr key={invoice.invoiceId} data-testid="invoice-row" data-invoice={invoice.invoiceId}>
            <th scope="row">
              <Link href={invoicePath(invoice.invoiceId)}>{invoice.period.label}</Link>
            </th>
            <td data-testid="invoice-status">{invoice.status}</td>
            <td>
              <code>{invoice.subscriptionId}</code>
            </td>
            <td className="number" data-testid="invoice-row-total">
              {formatMoney(invoice.total, invoice.currency, locale)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );

/** Credit notes: what a finalized invoice billed too much, owed back (total) when the next one finalized. */
export const CreditNotes = ({
  creditNotes,
  timeZone,
  locale,
}: {
  creditNotes: readonly CreditNote[];
  timeZone: string;
  locale: string;
}) =>
  creditNotes.length === 0 ? (
    <p>No credit note: no finalized invoice has come to less since.</p>
  ) : (
    <table className="history">
      <thead>
        <tr>
          <th scope="col">Period credited</th>
          <th scope="col">Issued</th>
          <th scope="col">Credits invoice</th>
          <th scope="col" className="number">
            Owed back
          </th>
        </tr>
      </thead>
      <tbody>
        {creditNotes.map((note) => (
          <tr key={note.creditNoteId} data-testid="credit-note">
            <th scope="row">{note.period}</th>
            <td>{formatInstant(note.issuedAt, timeZone, locale)}</td>
            <td>
              <Link href={invoicePath(note.invoiceId)}>invoice of {note.period}</Link>
            </td>
            <td className="number" data-testid="credit-note-total">
              {formatMoney(note.total, note.currency, locale)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
