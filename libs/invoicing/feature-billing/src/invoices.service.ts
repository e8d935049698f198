import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  AdjustmentLineV1,
  BillingPeriodV1,
  creditNoteId,
  CreditNoteIssuedV1,
  creditNoteStream,
  InvoiceContentV1,
  InvoiceEvent,
  invoiceId as invoiceIdOf,
  InvoiceFinalizedV1,
  InvoiceLineV1,
  invoiceStream,
  isCreditNoteEvent,
} from '@tally/contracts/invoices';
import {
  BillingAccount,
  BillingRegistryTables,
  InvoiceStandingRow,
  InvoiceTables,
  PlanRow,
  StandingTables,
  standingsProjectionName,
} from '@tally/invoicing/data-access-billing';
import {
  adjustmentLines,
  billingInputsDigest,
  changedIn,
  creditNoteDecider,
  decideEarlier,
  decideEarlierFromSummary,
  EarlierDecision,
  emptyStandingSummary,
  evolveStandingSummary,
  Invoice,
  InvoiceCommand,
  invoiceDecider,
  InvoiceDocument,
  InvoiceStanding,
  invoiceTotal,
  invoicingRefusals,
  metersCharged,
  netAmount,
  refuse,
  requireDraft,
  rerateFrom,
  roundMoney,
  Settlement,
  standingOf,
  SubscriptionTimeline,
  sumAmounts,
} from '@tally/invoicing/domain';
import {
  Aggregate,
  aggregateStream,
  decideCommand,
  EventStore,
  foldRecorded,
  handleCommand,
  RecordedEvent,
  StreamAppend,
} from '@tally/shared/data-access-event-store';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import { Clock, CLOCK, CONFIG, Log, LOG, Tenancy } from '@tally/shared/feature-runtime';
import { billingPeriodsOverlapping, callBatcher, deterministicUuid, messageOf } from '@tally/shared/util-core';
import { billingBatchLingerMs } from './batching';
import { InvoiceRater, RatedPeriods } from './invoice-rater';
import {
  BILLING_REGISTRY_TABLES,
  INVOICE_LEDGER,
  INVOICE_RATER,
  INVOICE_TABLES,
  INVOICING_DB,
  REGISTRY_RUNNER,
  STANDING_TABLES,
} from './tokens';
import { InvoiceChangesTail } from './invoice-changes-tail';
import { TallyConfig } from '@tally/shared/util-config';

export type { InvoiceDocument };

/**
 * Ledger event ids of an invoice's events, derived from the invoice (and the revision a re-draft follows):
 * a retry after a crash finds the event it appended instead of appending a second.
 */
const invoiceEventId =
  (invoiceId: string) =>
  (event: InvoiceEvent, _index: number, revision: unknown): string => {
    switch (event.type) {
      case 'InvoiceDrafted':
        return deterministicUuid('tally.invoice-drafted.v1', invoiceId);
      case 'InvoiceRedrafted':
        return deterministicUuid('tally.invoice-redrafted.v1', invoiceId, String(revision));
      case 'InvoiceFinalized':
        return deterministicUuid('tally.invoice-finalized.v1', invoiceId);
      case 'InvoiceVoided':
        return deterministicUuid('tally.invoice-voided.v1', invoiceId);
    }
  };

interface Earlier {
  period: BillingPeriodV1;
  invoiceId: string;
  state: Invoice;
}

export interface RatedContent extends InvoiceContentV1 {
  /** Finalized periods whose re-rated lines came to less than billed: credit notes, issued when this invoice finalizes. */
  credits: { invoice: Earlier; lines: AdjustmentLineV1[] }[];
  /** An earlier period's invoice is still a draft (this one cannot finalize before it). */
  earlierOpen: boolean;
  /** What finalizing with this content settles (none when no usage was asked: a plan without charges). */
  settled?: Settlement;
}

/** What re-rating an invoice's content works from: the invoice's period and its subscription's earlier invoices. */
interface Rerating {
  account: BillingAccount;
  subscription: SubscriptionTimeline;
  period: BillingPeriodV1;
  plans: ReadonlyMap<string, PlanRow>;
  fresh: boolean;
  /** The earlier periods' invoices that are finalized (none while one is still a draft). */
  finalized: readonly Earlier[];
  earlier: readonly Earlier[];
}

/** waiting: an earlier invoice of the subscription is still a draft; behind: usage or the registry has not caught up with the ledger. */
export type BillingOutcome = 'drafted' | 'redrafted' | 'finalized' | 'unchanged' | 'waiting' | 'behind';

/**
 * Billing orchestration around the invoice decider (libs/invoicing/domain): rates content at the edge,
 * then hands each lifecycle step to the decider through handleCommand, which reads the invoice's stream
 * (the ledger, not the projection) and appends at the revision read. Ids derive from (subscription, period
 * start), so a retry, a restart or a second process finds the same invoice.
 */
@Injectable()
export class InvoicesService {
  constructor(
    /** Batched: a billing run's invoices in flight read and append together (one round trip and commit for many). */
    @Inject(INVOICE_LEDGER) private readonly ledger: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(BILLING_REGISTRY_TABLES) private readonly registry: BillingRegistryTables,
    @Inject(INVOICE_RATER) private readonly rater: InvoiceRater,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(INVOICE_TABLES) private readonly invoices: InvoiceTables,
    @Inject(REGISTRY_RUNNER) private readonly registryRunner: ProjectionRunner,
    @Inject(STANDING_TABLES) private readonly standings: StandingTables,
    @Inject(LOG) private readonly log: Log,
  ) {}

  /** The ledger's standing changes after the standings projection's checkpoint, as this process has read them. */
  private changesTail?: InvoiceChangesTail;

  /**
   * What each subscription's standing summary decides about its earlier periods (undefined: billing decides from
   * every earlier invoice's row instead). The summaries hold exactly the standing changes up to the projection's
   * checkpoint (both read in one statement); a subscription is decided on from its summary — none at all: no invoice
   * yet — only when the ledger has no change of its invoices after that checkpoint. Concurrent asks (a billing run's)
   * share the statement and one read of the ledger's tail; a failure of either leaves the batch to the long way (and
   * a warning in the log).
   */
  private readonly summaryDecisions = callBatcher<
    { tenant: string; subscriptionId: string; period: BillingPeriodV1; inputs: string },
    EarlierDecision | undefined
  >({
    maxBatch: 256,
    lingerMs: billingBatchLingerMs,
    key: (ask) => ask.tenant,
    run: async (asks) => {
      const decided = await this.decideFromSummaries(asks).catch((error: unknown) => {
        // Correct either way (the long way decides), but slower: said, so that it does not go unnoticed.
        this.log.warn({ reason: messageOf(error) }, 'standing summaries unreadable: deciding from the invoice rows');
        return undefined;
      });
      return decided ?? asks.map(() => undefined);
    },
  });

  private async decideFromSummaries(
    asks: readonly { tenant: string; subscriptionId: string; period: BillingPeriodV1; inputs: string }[],
  ): Promise<(EarlierDecision | undefined)[] | undefined> {
    const read = await this.standings.summariesAt(
      this.db,
      asks[0].tenant,
      asks.map((a) => a.subscriptionId),
    );
    if (!read) return undefined;
    this.changesTail ??= new InvoiceChangesTail(
      this.ledger,
      (tenant, ids) => this.standings.subscriptionsOf(this.db, tenant, ids),
      undefined,
      {
        // Said once each way: every invoice meanwhile takes the long way (correct, slower), and nothing else says so.
        farBehind: (atLeast) =>
          this.log.warn(
            { projection: standingsProjectionName, changesBehind: atLeast },
            'standing summaries far behind the ledger: invoices decide from the invoice rows until they catch up',
          ),
        following: () => this.log.info({ projection: standingsProjectionName }, 'standing summaries followed again'),
      },
    );
    // Begun after the checkpoint was read: with the summaries, the ledger as it stood when this read began. Drafts
    // since the checkpoint (a finalization right after its own draft, in one run) are folded in as the projection
    // would fold them; any other change since sends the subscription the long way.
    const drafted = await this.changesTail.draftsAfter(read.checkpoint, asks);
    if (!drafted) return undefined;
    return asks.map((ask, i) => {
      const periods = drafted[i];
      if (!periods) return undefined;
      const summary = periods.reduce(
        (folded, period) =>
          evolveStandingSummary(folded, {
            period,
            before: { status: 'none' },
            after: { status: 'draft', periodStart: period.start },
          }),
        read.summaries.get(ask.subscriptionId) ?? emptyStandingSummary(),
      );
      return decideEarlierFromSummary(summary, ask.period, ask.inputs);
    });
  }

  /** A subscription's invoices as the projection has them (standings); concurrent asks (a billing run's) in one statement. */
  private readonly standingsOf = callBatcher<{ tenant: string; subscriptionId: string }, InvoiceStandingRow[]>({
    maxBatch: 256,
    lingerMs: billingBatchLingerMs,
    key: (ask) => ask.tenant,
    run: (asks) =>
      this.invoices.standings(
        this.db,
        asks[0].tenant,
        asks.map((a) => a.subscriptionId),
      ),
  });

  private get tenant() {
    return this.tenancy.current;
  }

  private get graceMs() {
    return this.config.TALLY_INVOICE_GRACE_HOURS * 3_600_000;
  }

  invoiceIdFor(subscriptionId: string, period: BillingPeriodV1): string {
    return invoiceIdOf(this.tenant, subscriptionId, period.start);
  }

  async state(invoiceId: string): Promise<Invoice> {
    return (await this.read(invoiceId)).state;
  }

  /** The invoice's stream folded (with the ledger position of its finalization, if any). */
  private async read(invoiceId: string): Promise<Aggregate<InvoiceEvent, Invoice>> {
    return withFinalizedPosition(
      await aggregateStream(this.ledger, invoiceDecider, invoiceStream(this.tenant, invoiceId)),
    );
  }

  /** Several invoices' streams folded from one read of the ledger (one round trip, however many). */
  private async states(invoiceIds: readonly string[]): Promise<Invoice[]> {
    const streams = invoiceIds.map((id) => invoiceStream(this.tenant, id));
    const read = await this.ledger.readStreams(streams);
    return streams.map(
      (stream) => withFinalizedPosition(foldRecorded(invoiceDecider, stream, read.get(stream) ?? [])).state,
    );
  }

  /** One lifecycle step on an invoice's stream, decided by the invoice decider (on `read`, if the caller has it). */
  private onInvoice(
    invoiceId: string,
    command: InvoiceCommand,
    options: { alsoAppend?: StreamAppend[]; read?: Aggregate<InvoiceEvent, Invoice> } = {},
  ) {
    return handleCommand(this.ledger, invoiceDecider, invoiceStream(this.tenant, invoiceId), command, {
      eventId: invoiceEventId(invoiceId),
      ...options,
    });
  }

  /**
   * The subscription's periods in [from, to) with their invoices as the ledger has them: the periods it
   * covers now, plus any period it has an invoice for (a registry change may since have moved its start
   * or end; such an invoice must still be credited).
   */
  private async periodsWithInvoices(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    from: Date,
    to: Date,
    invoicedFrom: Date,
  ): Promise<Earlier[]> {
    const before = (p: BillingPeriodV1) => Date.parse(p.start) < to.getTime();
    const covered = billingPeriodsOverlapping(from, to, account.timezone, account.anchorDay).filter(before);
    const invoiced = (await this.standingsOf({ tenant: this.tenant, subscriptionId: subscription.subscriptionId }))
      .map((row) => row.period)
      .filter((p) => before(p) && Date.parse(p.start) >= invoicedFrom.getTime());
    const periods = [...new Map([...covered, ...invoiced].map((p) => [p.start, p])).values()].sort((a, b) =>
      a.start < b.start ? -1 : 1,
    );
    // Every period's invoice from one read: a stream read per period was round trips growing with the subscription's age.
    const ids = periods.map((p) => this.invoiceIdFor(subscription.subscriptionId, p));
    const states = await this.states(ids);
    return periods.map((period, i) => ({ period, invoiceId: ids[i], state: states[i] }));
  }

  /** The subscription's periods before `period`. */
  private earlier(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
  ): Promise<Earlier[]> {
    return this.periodsWithInvoices(
      account,
      subscription,
      new Date(subscription.startsAt),
      new Date(period.start),
      new Date(0),
    );
  }

  /**
   * The subscription's periods before `period`, each with its invoice's standing, mostly without reading the invoices'
   * streams: a projection row is its stream's fold through the row's revision, so while the ledger's stream is still
   * at that revision (one query of small rows for them all) the row is taken. A stream its row is behind (the
   * projection lags: an invoice this run just finalized), or has no row for, is read and folded as before.
   */
  private async earlierStandings(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
  ): Promise<{ period: BillingPeriodV1; standing: InvoiceStanding }[]> {
    const bound = Date.parse(period.start);
    const before = (p: BillingPeriodV1) => Date.parse(p.start) < bound;
    const rows = (await this.standingsOf({ tenant: this.tenant, subscriptionId: subscription.subscriptionId })).filter(
      (row) => before(row.period),
    );
    const covered = billingPeriodsOverlapping(
      new Date(subscription.startsAt),
      new Date(period.start),
      account.timezone,
      account.anchorDay,
    ).filter(before);
    const periods = [...new Map([...covered, ...rows.map((r) => r.period)].map((p) => [p.start, p])).values()];
    const rowAt = new Map(rows.map((row) => [row.period.start, row]));
    const rowOf = periods.map((p) => rowAt.get(p.start));
    // A row's invoice id is the one derived from its period (invoiceIdFor): derived again only where there is no row.
    const ids = periods.map((p, i) => rowOf[i]?.invoiceId ?? this.invoiceIdFor(subscription.subscriptionId, p));
    const streams = ids.map((id) => invoiceStream(this.tenant, id));
    const heads = await this.ledger.streamRevisions(streams);
    // A row is its stream's fold only at the stream's head; no row and no stream: a period never invoiced.
    const stale = ids.filter((_, i) => {
      const row = rowOf[i];
      const head = heads.get(streams[i]);
      return row ? row.revision === null || row.revision !== head : head !== undefined;
    });
    const folded = new Map(stale.length === 0 ? [] : (await this.states(stale)).map((s, i) => [stale[i], s]));
    return periods.map((p, i) => {
      const state = folded.get(ids[i]);
      return {
        period: p,
        standing: state ? standingOf(state) : (rowOf[i]?.standing ?? { status: 'none' as const }),
      };
    });
  }

  /**
   * The credit notes these invoices' finalizations issued, by credit note id, from one read: only the notes each
   * finalization lists (InvoiceFinalized.creditNotes, kept through a later void), where reading every pair of
   * periods' possible note was reads growing with the square of the subscription's age. `about`: only the notes
   * crediting these invoices (the periods being re-rated).
   */
  private async creditNotesIssuedBy(
    invoices: readonly Earlier[],
    about?: readonly Earlier[],
  ): Promise<Map<string, RecordedEvent[]>> {
    const wanted = about && new Set(about.flatMap((a) => invoices.map((i) => creditNoteId(a.invoiceId, i.invoiceId))));
    const ids = invoices
      .flatMap((i) => i.state.document?.creditNotes ?? [])
      .filter((id) => wanted === undefined || wanted.has(id));
    if (ids.length === 0) return new Map();
    const read = await this.ledger.readStreams(ids.map((id) => creditNoteStream(this.tenant, id)));
    return new Map(ids.map((id) => [id, read.get(creditNoteStream(this.tenant, id)) ?? []]));
  }

  /**
   * Everything billed so far for a finalized period: its usage lines, then the adjustments about it on later
   * finalized invoices and the credit notes issued against it (`notes`: creditNotesIssuedBy of `later`), in billing
   * order. A credit note stays issued whatever becomes of the invoice it was issued with; adjustment lines on a
   * voided invoice were never collected, so they are billed again.
   */
  private billedFor(
    invoice: Earlier,
    later: readonly Earlier[],
    notes: ReadonlyMap<string, RecordedEvent[]>,
  ): InvoiceLineV1[] {
    const billed: InvoiceLineV1[] = (invoice.state.document?.lines ?? []).filter((l) => l.kind === 'usage');
    for (const next of later) {
      if (next.state.status === 'finalized')
        billed.push(
          ...(next.state.document?.lines ?? []).filter(
            (l) => l.kind === 'adjustment' && l.adjusts.invoiceId === invoice.invoiceId,
          ),
        );
      if (next.state.status === 'none' || next.state.status === 'draft') continue;
      const issued = notes.get(creditNoteId(invoice.invoiceId, next.invoiceId)) ?? [];
      for (const note of issued.filter(isCreditNoteEvent)) billed.push(...note.data.lines);
    }
    return billed;
  }

  /** A period's invoice and everything billed for it so far (its lines, later adjustments, credit notes). */
  async billedSoFar(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
  ): Promise<{ invoice: Earlier; billed: InvoiceLineV1[] }> {
    const id = this.invoiceIdFor(subscription.subscriptionId, period);
    const invoice: Earlier = { period, invoiceId: id, state: await this.state(id) };
    if (invoice.state.status !== 'finalized') return { invoice, billed: [] };
    const later = await this.periodsWithInvoices(
      account,
      subscription,
      new Date(period.end),
      this.clock(),
      new Date(period.end),
    );
    return { invoice, billed: this.billedFor(invoice, later, await this.creditNotesIssuedBy(later)) };
  }

  /**
   * What an invoice for this period says now: the period's usage lines, plus adjustment lines for every
   * earlier finalized period whose re-rated lines now come to more (or the same money but other
   * quantities); earlier periods that now come to less are credit notes instead. While an earlier period's
   * invoice is still a draft, the adjustments are that draft's to bill, not this invoice's.
   */
  async content(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
    plans: ReadonlyMap<string, PlanRow>,
    fresh = false,
  ): Promise<RatedContent> {
    const inputs = billingInputsDigest(account, subscription, plans);
    // From the subscription's summary (one row, whatever its age), or else from every earlier invoice's row.
    const decision =
      (await this.summaryDecisions({
        tenant: this.tenant,
        subscriptionId: subscription.subscriptionId,
        period,
        inputs,
      })) ?? decideEarlier(await this.earlierStandings(account, subscription, period), inputs);
    if (decision.kind === 'alone') {
      // Nothing finalized to re-rate (or an earlier draft bills the adjustments): this period alone.
      const rated = await this.rater.usageLinesOfPeriods(account.accountId, subscription, [period], plans, fresh);
      return assembled(account, rated.lines[0], [], [], decision.open, rated.position, inputs);
    }
    let asked: { since: bigint; rated: RatedPeriods } | undefined;
    if (decision.kind === 'since') {
      const rated = await this.askChanges({ account, subscription, period, plans, fresh }, decision.since);
      // The common case: no finalized period's usage changed since it was settled — nothing of theirs is read.
      if (!decision.settled.some((p) => changedIn(rated.changed ?? null, p)))
        return assembled(account, rated.lines[0], [], [], false, rated.position, inputs);
      asked = { since: decision.since, rated };
    }
    // Something to re-rate: the earlier invoices' streams read whole and decided on again, as they stand now.
    const earlier = await this.earlier(account, subscription, period);
    const earlierOpen = earlier.some((e) => e.state.status === 'draft');
    const finalized = earlierOpen ? [] : earlier.filter((e) => e.state.status === 'finalized');
    const from =
      finalized.length === 0
        ? 'all'
        : rerateFrom(
            earlier.map((e) => standingOf(e.state)),
            inputs,
          );
    const { usage, rerated, reratedLines, notes, position } =
      from === 'all'
        ? await this.rerateAll({ account, subscription, period, plans, fresh, finalized, earlier })
        : await this.rerateChanged(
            { account, subscription, period, plans, fresh, finalized, earlier },
            from.since,
            // The answer already had, if the streams say the same as the rows did (they nearly always do).
            asked?.since === from.since ? asked.rated : undefined,
          );
    const adjustments: AdjustmentLineV1[] = [];
    const credits: RatedContent['credits'] = [];
    for (const [index, invoice] of earlier.entries()) {
      const at = rerated.indexOf(invoice);
      if (at < 0) continue;
      const billed = this.billedFor(invoice, earlier.slice(index + 1), notes);
      const lines = adjustmentLines(
        { invoiceId: invoice.invoiceId, period: invoice.period.label },
        billed,
        reratedLines[at],
      ) as AdjustmentLineV1[];
      if (lines.length === 0) continue;
      if (netAmount(lines).isNegative()) credits.push({ invoice, lines });
      else adjustments.push(...lines);
    }
    return assembled(account, usage, adjustments, credits, earlierOpen, position, inputs);
  }

  /**
   * This period and every earlier finalized one re-rated from one usage request: the subscription's periods were
   * never settled, a finalized invoice was voided, or its billing inputs changed since it was last settled.
   */
  private async rerateAll({ account, subscription, period, plans, fresh, finalized, earlier }: Rerating) {
    const [rated, notes] = await Promise.all([
      this.rater.usageLinesOfPeriods(
        account.accountId,
        subscription,
        [period, ...finalized.map((e) => e.period)],
        plans,
        fresh,
      ),
      this.creditNotesIssuedBy(finalized.length > 0 ? earlier : []),
    ]);
    const [usage, ...reratedLines] = rated.lines;
    return { usage, rerated: finalized, reratedLines, notes, position: rated.position };
  }

  /**
   * This period rated, and in the same snapshot which of the account's hours before it changed since the
   * subscription's periods were last settled (`since`); then only the finalized periods those hours fall in are
   * re-rated (usually none), with only the credit notes about them read. Every other finalized period is billed
   * exactly as it was rated then — its usage and inputs are the same — so its adjustment would be nothing: an
   * invoice's cost no longer grows with the subscription's age. The settlement recorded is this first snapshot's
   * position; a period re-rated from a later snapshot may be re-rated once more, never skipped wrongly.
   */
  private async rerateChanged(
    { account, subscription, period, plans, fresh, finalized, earlier }: Rerating,
    since: bigint,
    answered?: RatedPeriods,
  ) {
    const first = answered ?? (await this.askChanges({ account, subscription, period, plans, fresh }, since));
    const rerated = finalized.filter((e) => changedIn(first.changed ?? null, e.period));
    const [again, notes] =
      rerated.length === 0
        ? [undefined, new Map<string, RecordedEvent[]>()]
        : await Promise.all([
            this.rater.usageLinesOfPeriods(
              account.accountId,
              subscription,
              rerated.map((e) => e.period),
              plans,
              fresh,
            ),
            this.creditNotesIssuedBy(earlier, rerated),
          ]);
    return {
      usage: first.lines[0],
      rerated,
      reratedLines: again?.lines ?? [],
      notes,
      position: first.position,
    };
  }

  /** This period rated, with which of the account's hours before it changed after `since` (same snapshot). */
  private askChanges(
    { account, subscription, period, plans, fresh }: Omit<Rerating, 'finalized' | 'earlier'>,
    since: bigint,
  ): Promise<RatedPeriods> {
    return this.rater.usageLinesOfPeriods(account.accountId, subscription, [period], plans, fresh, {
      since,
      before: period.start,
      meters: metersCharged(subscription, plans),
    });
  }

  /**
   * The current period's cost projected to its end, charge by charge (docs/invoicing.md, "Projected cost"): the
   * usage lines rated from projected quantities, plus the adjustment lines the invoice already carries (they do
   * not grow); rounded as an invoice is.
   */
  async projection(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
    plans: ReadonlyMap<string, PlanRow>,
    current: readonly InvoiceLineV1[],
  ) {
    const lines = await this.rater.projectedLines(account.accountId, subscription, period, plans);
    const amounts = [...lines, ...current.filter((l) => l.kind === 'adjustment')].map((l) => l.amount);
    return { lines, subtotal: sumAmounts(amounts), total: invoiceTotal(amounts, account.currency) };
  }

  /**
   * Whether this app's billing registry has applied the ledger. Invoices finalizing within a few milliseconds share
   * one check, begun after all of them asked (a check already under way is never joined: it may have read the ledger
   * before a change a later caller depends on); it was two statements for each.
   */
  private readonly registryCaughtUp = callBatcher<null, boolean>({
    maxBatch: 1_000,
    lingerMs: billingBatchLingerMs,
    run: async (asks) => {
      const caughtUp = await this.registryRunner.reachedLedgerHead();
      return asks.map(() => caughtUp);
    },
  });

  /**
   * The content to freeze: only from views that have applied the whole ledger — the rollups (asked fresh)
   * and this app's billing registry — so a rebuild or a stalled projection never finalizes a partial invoice.
   */
  private async finalContent(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
    plans: ReadonlyMap<string, PlanRow>,
  ): Promise<RatedContent | 'behind'> {
    if (!(await this.registryCaughtUp(null))) return 'behind';
    try {
      return await this.content(account, subscription, period, plans, true);
    } catch (error) {
      if (invoicingRefusals.is(error, 'usage_unavailable')) return 'behind';
      throw error;
    }
  }

  /**
   * Everything due on an ended period's invoice now, in order: draft it or re-rate the draft, then finalize it once
   * its grace period is over. A period first drafted after its grace period ended (billing caught up late) is
   * finalized in the same call, by the same rules as any other (fresh usage, period order), not a run later.
   * Returns the outcome of each step taken.
   */
  async advance(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
    plans: ReadonlyMap<string, PlanRow>,
    options = { mayFinalize: true },
  ): Promise<BillingOutcome[]> {
    const first = await this.step(account, subscription, period, plans, options);
    if (first !== 'drafted' || this.clock().getTime() < Date.parse(this.finalizesAt(period))) return [first];
    // The draft's stream read again: the finalization appends at the revision after InvoiceDrafted.
    return [first, await this.step(account, subscription, period, plans, options)];
  }

  /** When a period's invoice finalizes by itself: its grace period after the period's end. */
  finalizesAt(period: BillingPeriodV1): string {
    return new Date(Date.parse(period.end) + this.graceMs).toISOString();
  }

  /** One step of an ended period's invoice: draft it, re-rate the draft, or finalize it once its grace period is over. */
  private async step(
    account: BillingAccount,
    subscription: SubscriptionTimeline,
    period: BillingPeriodV1,
    plans: ReadonlyMap<string, PlanRow>,
    options: { mayFinalize: boolean },
  ): Promise<BillingOutcome> {
    const id = this.invoiceIdFor(subscription.subscriptionId, period);
    const read = await this.read(id);
    const state = read.state;
    const now = this.clock();
    if (state.status === 'finalized' || state.status === 'voided') return 'unchanged';
    if (state.document && now.getTime() >= Date.parse(state.document.finalizesAt)) {
      if (!options.mayFinalize) return 'behind';
      const content = await this.finalContent(account, subscription, period, plans);
      if (content === 'behind') return 'behind';
      if (content.earlierOpen) return 'waiting';
      await this.appendFinalization(state.document, content, 'grace_period_ended', read);
      return 'finalized';
    }
    const { lines, subtotal, total } = await this.content(account, subscription, period, plans);
    const tenant = this.tenant;
    const { events } = await this.onInvoice(
      id,
      state.status === 'none'
        ? {
            type: 'DraftInvoice',
            data: {
              tenant,
              invoiceId: id,
              accountId: account.accountId,
              subscriptionId: subscription.subscriptionId,
              currency: account.currency,
              period,
              lines,
              subtotal,
              total,
              finalizesAt: this.finalizesAt(period),
              draftedAt: now.toISOString(),
            },
          }
        : {
            type: 'RedraftInvoice',
            data: { tenant, invoiceId: id, lines, subtotal, total, redraftedAt: now.toISOString() },
          },
      { read },
    );
    if (events.length === 0) return 'unchanged';
    return events[0].type === 'InvoiceDrafted' ? 'drafted' : 'redrafted';
  }

  /** `POST /v1/invoices/{id}/finalize`: before the grace period ends (the draft is re-rated one last time). */
  async finalize(invoiceId: string): Promise<InvoiceDocument> {
    const read = await this.read(invoiceId);
    const doc = requireDraft(read.state, invoiceId);
    const { account, subscription, plans } = await this.billingContext(doc.accountId, doc.subscriptionId);
    const content = await this.finalContent(account, subscription, doc.period, plans);
    if (content === 'behind')
      refuse(
        'usage_unavailable',
        'usage or the billing registry is not caught up with the ledger (a projection is rebuilding or lagging); retry shortly',
      );
    if (content.earlierOpen)
      refuse(
        'earlier_invoice_open',
        `an earlier invoice of subscription ${doc.subscriptionId} is still a draft: finalize it first (adjustments are billed in period order)`,
      );
    await this.appendFinalization(doc, content, 'requested', read);
    return (await this.state(invoiceId)).document as InvoiceDocument;
  }

  /** The finalization, with the credit notes it issues (each its own stream) in the same append. */
  private async appendFinalization(
    doc: InvoiceDocument,
    content: RatedContent,
    trigger: InvoiceFinalizedV1['trigger'],
    read: Aggregate<InvoiceEvent, Invoice>,
  ): Promise<void> {
    const now = this.clock().toISOString();
    const notes: CreditNoteIssuedV1[] = content.credits.map(({ invoice, lines }) => ({
      tenant: this.tenant,
      creditNoteId: creditNoteId(invoice.invoiceId, doc.invoiceId),
      invoiceId: invoice.invoiceId,
      issuedWith: doc.invoiceId,
      accountId: doc.accountId,
      subscriptionId: doc.subscriptionId,
      currency: doc.currency,
      period: invoice.period.label,
      lines,
      subtotal: sumAmounts(lines.map((l) => l.amount)),
      total: roundMoney(netAmount(lines).negated().toFixed(), doc.currency),
      issuedAt: now,
    }));
    const issued = await Promise.all(
      notes.map((note) =>
        decideCommand(
          this.ledger,
          creditNoteDecider,
          creditNoteStream(this.tenant, note.creditNoteId),
          { type: 'IssueCreditNote', data: note },
          { eventId: () => deterministicUuid('tally.credit-note-issued.v1', note.creditNoteId) },
        ),
      ),
    );
    const { invoiceId, accountId, subscriptionId, currency, period } = doc;
    await this.onInvoice(
      invoiceId,
      {
        type: 'FinalizeInvoice',
        data: {
          tenant: this.tenant,
          invoiceId,
          accountId,
          subscriptionId,
          currency,
          period,
          lines: content.lines,
          subtotal: content.subtotal,
          total: content.total,
          finalizedAt: now,
          trigger,
          creditNotes: notes.map((n) => n.creditNoteId),
          ...(content.settled && { settled: content.settled }),
        },
      },
      { alsoAppend: issued.flatMap((d) => (d.append ? [d.append] : [])), read },
    );
  }

  /** Voids the invoice only if the ledger still has it as a draft (a final one is credited, never voided by the system). */
  async voidDraft(invoiceId: string, reason: string): Promise<boolean> {
    const { events } = await this.onInvoice(invoiceId, {
      type: 'VoidInvoice',
      data: { tenant: this.tenant, invoiceId, reason, voidedAt: this.clock().toISOString() },
      onlyDraft: true,
    });
    return events.length > 0;
  }

  async void(invoiceId: string, reason: string): Promise<InvoiceDocument> {
    await this.onInvoice(invoiceId, {
      type: 'VoidInvoice',
      data: { tenant: this.tenant, invoiceId, reason, voidedAt: this.clock().toISOString() },
    });
    return (await this.state(invoiceId)).document as InvoiceDocument;
  }

  async billingContext(accountId: string, subscriptionId?: string) {
    const account = await this.registry.account(this.db, this.tenant, accountId);
    if (!account) refuse('account_not_found', `no account ${accountId} (or invoicing has not seen it yet)`);
    const plans = await this.registry.plans(this.db, this.tenant);
    const now = this.clock().getTime();
    const subscription = subscriptionId
      ? account.subscriptions.find((s) => s.subscriptionId === subscriptionId)
      : account.subscriptions.find(
          (s) => Date.parse(s.startsAt) <= now && (s.endsAt === null || now < Date.parse(s.endsAt)),
        );
    if (!subscription)
      refuse(
        'no_active_subscription',
        subscriptionId
          ? `no subscription ${subscriptionId} on account ${accountId}`
          : `account ${accountId} has no subscription running now`,
      );
    return { account, subscription, plans };
  }
}

/** An invoice's content from its parts: this period's usage lines, then the adjustments; what finalizing it settles. */
const assembled = (
  account: BillingAccount,
  usage: readonly InvoiceLineV1[],
  adjustments: readonly AdjustmentLineV1[],
  credits: RatedContent['credits'],
  earlierOpen: boolean,
  position: bigint | null,
  inputs: string,
): RatedContent => {
  const lines: InvoiceLineV1[] = [...usage, ...adjustments];
  const amounts = lines.map((l) => l.amount);
  return {
    lines,
    subtotal: sumAmounts(amounts),
    total: invoiceTotal(amounts, account.currency),
    credits,
    earlierOpen,
    ...(position !== null && { settled: { usagePosition: position.toString(), inputs } }),
  };
};

/** The ledger position of the invoice's finalization, if any, on its document (what the finalized invoice could have seen). */
const withFinalizedPosition = (read: Aggregate<InvoiceEvent, Invoice>): Aggregate<InvoiceEvent, Invoice> => {
  const finalized = read.events.find((e) => e.type === 'InvoiceFinalized');
  if (finalized && read.state.document) read.state.document.finalizedPosition = finalized.globalPosition.toString();
  return read;
};
