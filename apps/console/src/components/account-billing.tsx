import type { components, TallyHttpClient } from '@tally/client/http';
import { loaded, type Loaded } from '../api';
import { allowanceUses } from '../allowances';
import { useLoaded } from '../use-loaded';
import { AllowanceBars } from './allowance-bars';
import { CreditNotes, InvoiceHistory } from './invoice-history';
import { Pending } from './notice';

type UpcomingInvoice = components['schemas']['UpcomingInvoice'];
type Plan = components['schemas']['Plan'];

/**
 * Forge's free-tier bars: the upcoming invoice's lines (each group's quantity this period) against the
 * allowance of the plan version each was rated with (GET /v1/plans/{id}, asked once per plan).
 */
export const AllowancesSection = ({
  client,
  invoice,
  usage,
  locale,
}: {
  client: TallyHttpClient;
  invoice: Loaded<UpcomingInvoice>;
  usage: Loaded<components['schemas']['AccountUsage']>;
  locale: string;
}) => {
  const planIds = invoice.state === 'ready' ? [...new Set(invoice.data.lines.map((l) => l.segment.planId))].sort() : [];
  const plans = useLoaded(`plans:${planIds.join(',')}`, async (): Promise<Loaded<Map<string, Plan>>> => {
    const each = await Promise.all(
      planIds.map(async (id) => loaded(await client.GET('/v1/plans/{id}', { params: { path: { id } } }))),
    );
    const refused = each.find((p) => p.state !== 'ready');
    if (refused) return refused as Exclude<typeof refused, { state: 'ready' }>;
    return { state: 'ready', data: new Map(each.flatMap((p) => (p.state === 'ready' ? [[p.data.id, p.data]] : []))) };
  });
  if (invoice.state !== 'ready') return <Pending loaded={invoice} what="the upcoming invoice" />;
  if (plans.state !== 'ready') return <Pending loaded={plans} what="the plans" />;
  const meterNames = new Map(usage.state === 'ready' ? usage.data.meters.map((m) => [m.slug, m.name]) : []);
  return <AllowanceBars uses={allowanceUses(invoice.data.lines, plans.data)} meterNames={meterNames} locale={locale} />;
};

/** The invoices issued to the account and its credit notes (GET /v1/invoices, GET /v1/credit-notes). */
export const HistorySection = ({
  client,
  accountId,
  timeZone,
  locale,
}: {
  client: TallyHttpClient;
  accountId: string;
  timeZone: string;
  locale: string;
}) => {
  const query = { params: { query: { accountId } } };
  const invoices = useLoaded(`invoices:${accountId}`, async () => loaded(await client.GET('/v1/invoices', query)), {
    refreshMs: 10_000,
  });
  const notes = useLoaded(
    `credit-notes:${accountId}`,
    async () => loaded(await client.GET('/v1/credit-notes', query)),
    {
      refreshMs: 10_000,
    },
  );
  return (
    <>
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Invoices</h2>
        {invoices.state === 'ready' ? (
          <InvoiceHistory invoices={invoices.data.invoices} locale={locale} />
        ) : (
          <Pending loaded={invoices} what="the invoices" />
        )}
      </section>
      <section aria-labelledby="credit-notes-heading">
        <h2 id="credit-notes-heading">Credit notes</h2>
        {notes.state === 'ready' ? (
          <CreditNotes creditNotes={notes.data.creditNotes} timeZone={timeZone} locale={locale} />
        ) : (
          <Pending loaded={notes} what="the credit notes" />
        )}
      </section>
    </>
  );
};
