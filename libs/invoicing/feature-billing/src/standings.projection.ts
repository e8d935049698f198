import type { InvoiceEvent } from '@tally/contracts/invoices';
import {
  StandingInvoiceRow,
  standingsProjectionName,
  StandingTables,
  TenantSubscription,
} from '@tally/invoicing/data-access-billing';
import { emptyStandingSummary, evolveStandingSummary, InvoiceStanding, StandingSummary } from '@tally/invoicing/domain';
import type { RecordedEvent } from '@tally/shared/data-access-event-store';
import type { Projection } from '@tally/shared/data-access-postgres';

/** The invoice events that change a standing (a re-draft changes a draft's lines only). */
export const standingChangeTypes = ['InvoiceDrafted', 'InvoiceFinalized', 'InvoiceVoided'] as const;

/** What a standing never reads of an invoice event: its content (lines and totals). */
export const standingOmittedData = ['lines', 'subtotal', 'total'] as const;

const key = (tenant: string, id: string) => `${tenant}\u0000${id}`;

/**
 * Each subscription's standing summary (libs/invoicing/domain/src/standing-summary.ts), which billing decides on
 * instead of every earlier invoice's row. A projection of its own (not part of invoicing_invoices): its checkpoint
 * says exactly which invoice events every summary holds, and only a release that keeps summaries ever moves it. It
 * keeps each invoice's status and period (standing_invoices) to fold the invoice's next event.
 */
export const standingsProjection = (tables: StandingTables): Projection<InvoiceEvent> => ({
  name: standingsProjectionName,
  // Nothing answers from it: while it lags, billing decides the long way (from the invoice rows), so it never
  // holds back the process's readiness.
  gatesReadiness: false,
  eventTypes: standingChangeTypes,
  // An invoice's content is most of each event and none of a standing.
  omitData: standingOmittedData,
  tables: StandingTables.tables,
  apply: async (tx, events) => {
    const invoices = new Map(
      (
        await tables.invoices(
          tx,
          events.map((e) => ({ tenant: e.data.tenant, invoiceId: e.data.invoiceId })),
        )
      ).map((row) => [key(row.tenant, row.invoiceId), row]),
    );
    const summaries = new Map(
      (await tables.summaries(tx, subscriptionsOf(events, invoices))).map((row) => [
        key(row.tenant, row.subscriptionId),
        row.summary,
      ]),
    );
    const changedInvoices = new Set<string>();
    const changedSummaries = new Map<string, TenantSubscription>();
    for (const event of events) {
      const invoiceKey = key(event.data.tenant, event.data.invoiceId);
      const row = invoices.get(invoiceKey);
      // Already folded (a batch applied again): folding it twice would count it twice.
      if (row && row.revision >= event.streamRevision) continue;
      const change = standingChange(event, row);
      if (!change) continue;
      invoices.set(invoiceKey, change.row);
      changedInvoices.add(invoiceKey);
      const subscriptionKey = key(change.row.tenant, change.row.subscriptionId);
      summaries.set(
        subscriptionKey,
        evolveStandingSummary(summaries.get(subscriptionKey) ?? emptyStandingSummary(), {
          period: change.row.period,
          before: change.before,
          after: change.after,
        }),
      );
      changedSummaries.set(subscriptionKey, { tenant: change.row.tenant, subscriptionId: change.row.subscriptionId });
    }
    await tables.saveInvoices(
      tx,
      [...changedInvoices].map((k) => invoices.get(k) as StandingInvoiceRow),
    );
    await tables.saveSummaries(
      tx,
      [...changedSummaries].map(([k, s]) => ({ ...s, summary: summaries.get(k) as StandingSummary })),
    );
  },
});

/** Every subscription the batch's events are about: named by a draft or finalization, or by the voided invoice's row. */
const subscriptionsOf = (
  events: readonly RecordedEvent<InvoiceEvent>[],
  invoices: ReadonlyMap<string, StandingInvoiceRow>,
): TenantSubscription[] => {
  const named = new Map<string, string>();
  for (const event of events)
    if (event.type === 'InvoiceDrafted' || event.type === 'InvoiceFinalized')
      named.set(key(event.data.tenant, event.data.invoiceId), event.data.subscriptionId);
  const subscriptions = new Map<string, TenantSubscription>();
  for (const event of events) {
    const invoiceKey = key(event.data.tenant, event.data.invoiceId);
    const subscriptionId = named.get(invoiceKey) ?? invoices.get(invoiceKey)?.subscriptionId;
    if (subscriptionId !== undefined)
      subscriptions.set(key(event.data.tenant, subscriptionId), { tenant: event.data.tenant, subscriptionId });
  }
  return [...subscriptions.values()];
};

/**
 * Not reachable through the invoice decider (every stream starts with InvoiceDrafted). Skipping it would leave a
 * summary short of a finalization or void it can never learn of (it is before the checkpoint): the projection stops
 * instead, and billing decides from the invoice rows while it is behind.
 */
const unplaced = (event: RecordedEvent<InvoiceEvent>) =>
  new Error(
    `invoicing_standings: ${event.type} at position ${event.globalPosition} of invoice ${event.data.invoiceId} without its InvoiceDrafted`,
  );

/** An event's change to its invoice's standing, as the invoice decider's fold makes it (undefined: none). */
const standingChange = (
  event: RecordedEvent<InvoiceEvent>,
  row: StandingInvoiceRow | undefined,
): { row: StandingInvoiceRow; before: InvoiceStanding; after: InvoiceStanding } | undefined => {
  const revision = event.streamRevision;
  switch (event.type) {
    case 'InvoiceDrafted': {
      if (row) return undefined; // every stream starts with it: a second one is not reachable through the decider
      const { tenant, invoiceId, subscriptionId, period } = event.data;
      const drafted: StandingInvoiceRow = {
        tenant,
        invoiceId,
        subscriptionId,
        period: { start: period.start, end: period.end },
        status: 'draft',
        revision,
      };
      return { row: drafted, before: { status: 'none' }, after: { status: 'draft', periodStart: period.start } };
    }
    case 'InvoiceFinalized': {
      if (!row) throw unplaced(event);
      const { settled, finalizedAt } = event.data;
      return {
        row: { ...row, status: 'finalized', revision },
        before: { status: row.status },
        after: {
          status: 'finalized',
          periodStart: row.period.start,
          finalizedAt,
          finalizedPosition: event.globalPosition.toString(),
          ...(settled && { settled }),
        },
      };
    }
    case 'InvoiceVoided':
      if (!row) throw unplaced(event);
      return {
        row: { ...row, status: 'voided', revision },
        before: { status: row.status },
        after: { status: 'voided', periodStart: row.period.start },
      };
    default:
      return undefined;
  }
};
