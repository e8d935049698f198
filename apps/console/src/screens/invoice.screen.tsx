import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { InvoiceLines } from '../components/invoice-lines';
import { Link } from '../components/link';
import { Pending } from '../components/notice';
import { formatInstant, localeOf } from '../format';
import { accountPath } from '../router';
import { useLoaded } from '../use-loaded';

/**
 * One issued invoice (`/invoices/<id>`, GET /v1/invoices/{id}, folded from its ledger stream): status, lines with
 * their drill-down to the usage behind them, subtotal and total, and when it was voided or credited.
 */
export const InvoiceScreen = ({ client, invoiceId }: { client: TallyHttpClient; invoiceId: string }) => {
  const invoice = useLoaded(`issued-invoice:${invoiceId}`, async () =>
    loaded(await client.GET('/v1/invoices/{id}', { params: { path: { id: invoiceId } } })),
  );
  // Times in the account's zone: the invoice names its account, whose zone the period was cut in.
  const accountId = invoice.state === 'ready' ? invoice.data.accountId : undefined;
  const account = useLoaded(`invoice-account:${accountId ?? ''}`, async () =>
    accountId
      ? loaded(await client.GET('/v1/accounts/{id}', { params: { path: { id: accountId } } }))
      : { state: 'loading' as const },
  );
  if (invoice.state !== 'ready')
    return (
      <>
        <h1>Invoice</h1>
        <Pending loaded={invoice} what="the invoice" />
      </>
    );
  const data = invoice.data;
  const timeZone = account.state === 'ready' ? account.data.timezone : 'UTC';
  const locale = account.state === 'ready' ? localeOf(account.data) : undefined;
  const at = (iso: string) => formatInstant(iso, timeZone, locale ?? 'en-US');
  return (
    <>
      <h1>
        Invoice {data.period.label} · <span data-testid="invoice-status">{data.status}</span>
      </h1>
      <dl className="facts">
        <dt>Account</dt>
        <dd>
          <Link href={accountPath(data.accountId, { period: data.period.label, attributes: {} })}>
            {data.accountId}
          </Link>
        </dd>
        <dt>Invoice id</dt>
        <dd>
          <code>{data.invoiceId}</code>
        </dd>
        <dt>Period</dt>
        <dd>
          {at(data.period.start)} – {at(data.period.end)}
        </dd>
        <dt>Drafted</dt>
        <dd>{at(data.draftedAt)}</dd>
        {data.finalizedAt && (
          <>
            <dt>Finalized</dt>
            <dd>
              {at(data.finalizedAt)}
              {data.trigger === 'requested' ? ' (on request)' : data.trigger ? ' (grace period ended)' : ''}
            </dd>
          </>
        )}
        {data.status === 'draft' && (
          <>
            <dt>Finalizes</dt>
            <dd>{at(data.finalizesAt)}, unless late usage changes it before</dd>
          </>
        )}
        {data.voidedAt && (
          <>
            <dt>Voided</dt>
            <dd data-testid="invoice-voided">
              {at(data.voidedAt)}: {data.voidReason}
            </dd>
          </>
        )}
        {data.creditNotes && data.creditNotes.length > 0 && (
          <>
            <dt>Credit notes issued with it</dt>
            <dd>
              {data.creditNotes.map((id) => (
                <code key={id}>{id} </code>
              ))}
            </dd>
          </>
        )}
      </dl>
      <InvoiceLines invoice={data} locale={locale} />
    </>
  );
};
