import { lazy, Suspense } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { searchOf, usageQueryOf, windowSizeOf, type AccountFilters } from '../account-filters';
import { loaded } from '../api';
import { AllowancesSection, HistorySection } from '../components/account-billing';
import { BudgetsSection } from '../components/budgets-section';
import { FilterBar } from '../components/filter-bar';
import { InvoiceLines } from '../components/invoice-lines';
import { Link } from '../components/link';
import { Pending } from '../components/notice';
import { UsageTable } from '../components/usage-table';
import { formatInstant, formatMoney, localeOf } from '../format';
import { periodAt, periodsBack } from '../periods';
import { accountPath, navigate, planPath } from '../router';
import { useLoaded } from '../use-loaded';

/** How often the account's usage and invoice are asked again: new usage shows within seconds of its acceptance. */
export const liveRefreshMs = 2_000;

// ECharts is most of the console's JavaScript: loaded with the first chart, not with the first screen.
const UsageCharts = lazy(() => import('../components/usage-charts'));

/**
 * One account (its id and the view's filters in the address): usage per meter for a period with its breakdown,
 * the free allowances, budgets, the upcoming invoice, and the invoices and credit notes issued.
 */
export const AccountScreen = ({
  client,
  accountId,
  filters,
}: {
  client: TallyHttpClient;
  accountId: string;
  filters: AccountFilters;
}) => {
  const path = { params: { path: { id: accountId } } };
  const account = useLoaded(`account:${accountId}`, async () => loaded(await client.GET('/v1/accounts/{id}', path)));
  // Live: usage and the invoice are asked again every few seconds (polling: one request each, no open connection).
  const live = { refreshMs: liveRefreshMs };
  // filterAttribute[name] is read by the route's own query check; the generated type names only the fixed two.
  const windowSize = windowSizeOf(filters);
  const query = { ...usageQueryOf(filters), windowSize } as { period?: string; breakdownBy?: string };
  const usage = useLoaded(
    `usage:${accountId}${searchOf({ ...filters, meter: undefined })}`,
    async () => {
      const answer = await client.GET('/v1/accounts/{id}/usage', { params: { path: { id: accountId }, query } });
      // From here to the charts' `tally:usage-drawn` is the page's own work (tools/bench/console.bench.ts).
      performance.mark('tally:usage-answered');
      return loaded(answer);
    },
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
  const { name, currency, timezone, billingAnchorDay, subscriptions } = account.data;
  const locale = localeOf(account.data);
  // The periods to pick: this one back to the first the account could have usage in (opened, or subscribed).
  const earliest = [account.data.openedAt, ...subscriptions.map((s) => s.startsAt)].sort()[0];
  const periods = periodsBack(
    periodAt(new Date().toISOString(), timezone, billingAnchorDay),
    periodAt(earliest, timezone, billingAnchorDay),
  );
  const allMeters = usage.state === 'ready' ? usage.data.meters : [];
  const shown = allMeters.filter((m) => !filters.meter || m.slug === filters.meter);
  const measured = shown.filter((m) => m.total !== null);

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
        <dt>Subscriptions</dt>
        <dd>
          {subscriptions.length === 0
            ? 'none'
            : subscriptions.map((s) => (
                <span key={s.id} className="subscription">
                  <code>{s.id}</code> on plan <Link href={planPath(s.planId)}>{s.planId}</Link>{' '}
                </span>
              ))}
        </dd>
        {usage.state === 'ready' && (
          <>
            <dt>Billing period shown</dt>
            <dd>
              {usage.data.period} ({formatInstant(usage.data.from, timezone, locale)} –{' '}
              {formatInstant(usage.data.to, timezone, locale)})
            </dd>
          </>
        )}
      </dl>

      <section aria-labelledby="usage-heading">
        <h2 id="usage-heading">Usage</h2>
        <FilterBar
          key={searchOf(filters)}
          filters={filters}
          periods={periods}
          meters={allMeters}
          onChange={(next) => navigate(accountPath(accountId, next), { replace: true })}
        />
        {usage.state === 'ready' ? (
          <>
            <UsageTable meters={shown} breakdownBy={usage.data.breakdownBy} locale={locale} />
            {measured.length > 0 && (
              <Suspense fallback={<p role="status">Loading charts…</p>}>
                <UsageCharts
                  meters={measured}
                  breakdownBy={usage.data.breakdownBy}
                  from={usage.data.from}
                  to={usage.data.to}
                  timeZone={timezone}
                  locale={locale}
                  windowSize={windowSize}
                />
              </Suspense>
            )}
          </>
        ) : (
          <Pending loaded={usage} what="the usage" />
        )}
      </section>

      <section aria-labelledby="allowances-heading">
        <h2 id="allowances-heading">Free allowances this period</h2>
        <AllowancesSection client={client} invoice={invoice} usage={usage} locale={locale} />
      </section>

      <section aria-labelledby="budgets-heading">
        <h2 id="budgets-heading">Budgets</h2>
        <BudgetsSection client={client} accountId={accountId} invoice={invoice} locale={locale} />
      </section>

      <section aria-labelledby="invoice-heading">
        <h2 id="invoice-heading">Upcoming invoice</h2>
        {invoice.state === 'ready' ? (
          <>
            <InvoiceLines invoice={invoice.data} locale={locale} />
            <p data-testid="invoice-projection">
              Projected to the end of the period ({formatInstant(invoice.data.projection.to, timezone, locale)}):{' '}
              <strong>{formatMoney(invoice.data.projection.total, currency, locale)}</strong> — sums at their rate so
              far, stored levels held to the end.
            </p>
          </>
        ) : (
          <Pending loaded={invoice} what="the upcoming invoice" />
        )}
      </section>

      <HistorySection client={client} accountId={accountId} timeZone={timezone} locale={locale} />
    </>
  );
};
