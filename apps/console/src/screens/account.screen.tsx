import { lazy, Suspense } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { InvoiceLines } from '../components/invoice-lines';
import { Pending } from '../components/notice';
import { UsageTable } from '../components/usage-table';
import { formatInstant, formatMoney } from '../format';
import { useLoaded } from '../use-loaded';

/** How often the account's usage and invoice are asked again: new usage shows within seconds of its acceptance. */
export const liveRefreshMs = 2_000;

// ECharts is most of the console's JavaScript: loaded with the first chart, not with the first screen.
const UsageCharts = lazy(() => import('../components/usage-charts'));

/**
 * One account (its id in the address): this period's usage per meter with its breakdown by app and
 * environment, and the upcoming invoice's lines, in the account's currency and time zone.
 */
export const AccountScreen = ({ client, accountId }: { client: TallyHttpClient; accountId: string }) => {
  const path = { params: { path: { id: accountId } } };
  const account = useLoaded(`account:${accountId}`, async () => loaded(await client.GET('/v1/accounts/{id}', path)));
  // Live: usage and the invoice are asked again every few seconds (polling: one request each, no open connection).
  const live = { refreshMs: liveRefreshMs };
  const usage = useLoaded(
    `usage:${accountId}`,
    async () => loaded(await client.GET('/v1/accounts/{id}/usage', path)),
    live,
  );
  const invoice = useLoaded(
    `invoice:${accountId}`,
    async () => loaded(await client.GET('/v1/accounts/{id}/upcoming-invoice', path)),
    live,
  );

  if (account.state !== 'ready')
    return (
      <>
        <h1>Account {accountId}</h1>
        <Pending loaded={account} what="the account" />
      </>
    );
  const { name, currency, timezone } = account.data;
  const measured = usage.state === 'ready' ? usage.data.meters.filter((m) => m.total !== null) : [];

  return (
    <>
      <h1>{name}</h1>
      <dl className="facts">
        <dt>Account id</dt>
        <dd>
          <code>{accountId}</code>
        </dd>
        <dt>Currency</dt>
        <dd>{currency}</dd>
        <dt>Time zone</dt>
        <dd>{timezone}</dd>
        {usage.state === 'ready' && (
          <>
            <dt>Billing period</dt>
            <dd>
              {usage.data.period} ({formatInstant(usage.data.from, timezone)} – {formatInstant(usage.data.to, timezone)}
              )
            </dd>
          </>
        )}
      </dl>

      <section aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage this period</h2>
        {usage.state === 'ready' ? (
          <>
            <UsageTable meters={usage.data.meters} />
            {measured.length > 0 && (
              <Suspense fallback={<p role="status">Loading charts…</p>}>
                <UsageCharts meters={measured} />
              </Suspense>
            )}
          </>
        ) : (
          <Pending loaded={usage} what="the usage" />
        )}
      </section>

      <section aria-labelledby="invoice-heading">
        <h2 id="invoice-heading">Upcoming invoice</h2>
        {invoice.state === 'ready' ? (
          <>
            <InvoiceLines invoice={invoice.data} />
            <p data-testid="invoice-projection">
              Projected to the end of the period ({formatInstant(invoice.data.projection.to, timezone)}):{' '}
              <strong>{formatMoney(invoice.data.projection.total, currency)}</strong> — sums at their rate so far,
              stored levels held to the end.
            </p>
          </>
        ) : (
          <Pending loaded={invoice} what="the upcoming invoice" />
        )}
      </section>
    </>
  );
};
