import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BillingRegistryTables, InvoiceTables } from '@tally/invoicing/data-access-billing';
import { whileHoldingLock } from '@tally/shared/data-access-postgres';
import { messageOf } from '@tally/shared/util-core';
import { hasBegun, markAfter, periodsToWalk, WalkMark, walkStart } from '@tally/invoicing/domain';
import {
  ACCESS,
  actFor,
  Clock,
  CLOCK,
  CONFIG,
  Log,
  LOG,
  POSTGRES,
  Metrics,
  PostgresSettings,
  Tenancy,
  toProblem,
} from '@tally/shared/feature-runtime';
import { BillingOutcome, InvoicesService } from './invoices.service';
import { CostBudgetsService } from './cost-budgets.service';
import { BillingRunHistory } from './billing-run-history';
import { BILLING_REGISTRY_TABLES, INVOICE_TABLES, INVOICING_DB } from './tokens';
import { TallyConfig } from '@tally/shared/util-config';
import { AccessStore } from '@tally/shared/data-access-access';

/**
 * Subscriptions billed at once in a run. Their ledger reads and appends (BatchingEventStore), invoice lists and usage
 * requests (BillableUsageClient) made within a few milliseconds go together, one round trip and one commit for
 * many: the more in flight, the fewer round trips per invoice. At 1,000–2,000 subscriptions × 5 meters: 4 → 83–131
 * invoices/s, 64 → 832–896, 128 → 1,103–1,132, 256 → 1,426–1,645; at 10,000: 256 → 1,661–1,798, 512 → 2,181–2,616,
 * 1,024 → 2,398–3,033 (docs/benchmarks.md, "Billing in batches"). 512: most of the gain, half the work in flight.
 * Each subscription's periods stay in order inside its own turn.
 */
const billingConcurrency = 512;

export type BillingRunSummary = Record<BillingOutcome | 'failed' | 'voided', number> & {
  subscriptions: number;
  costAlerts: number;
  startedAt: string;
  durationMs: number;
};

/** Nothing done yet: every count of a run's summary at zero. */
const noCounts = () => ({
  drafted: 0,
  redrafted: 0,
  finalized: 0,
  unchanged: 0,
  waiting: 0,
  behind: 0,
  voided: 0,
  failed: 0,
  subscriptions: 0,
});

/** The billing clock's pass, or one asked for with `POST /v1/admin/billing-runs`. */
export type BillingTrigger = 'scheduled' | 'manual';

/**
 * The billing clock: every TALLY_BILLING_INTERVAL_MS it walks every tenant (on `POST /v1/admin/billing-runs`, the
 * caller's), and in each every subscription's ended periods in order — drafts the missing invoices, re-rates
 * drafts (late usage), and finalizes those past their grace period (drafted after it: in the same run). One
 * process runs it at a time (a Postgres advisory lock on a connection of its own); the invoice streams' ids and
 * revisions keep it exact even if two ever did.
 */
@Injectable()
export class BillingScheduler {
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(CONFIG) private readonly config: TallyConfig,
    @Inject(LOG) private readonly log: Log,
    @Inject(ACCESS) private readonly access: AccessStore,
    @Inject(POSTGRES) private readonly postgres: PostgresSettings,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(BILLING_REGISTRY_TABLES) private readonly registry: BillingRegistryTables,
    @Inject(INVOICE_TABLES) private readonly invoices: InvoiceTables,
    private readonly service: InvoicesService,
    private readonly metrics: Metrics,
    private readonly costBudgets: CostBudgetsService,
    private readonly history: BillingRunHistory,
  ) {}

  private stopped = false;

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        // A run that fails as a whole (Postgres down) is logged and retried at the next tick, never an unhandled rejection.
        // Kept, so that stop() waits for all of it — the tenant list it reads first included.
        this.ticking = this.runEveryTenant()
          .then(() => undefined)
          .catch((error: unknown) =>
            this.log.warn(
              { retryInMs: this.config.TALLY_BILLING_INTERVAL_MS, reason: messageOf(error) },
              'billing run failed',
            ),
          )
          .finally(tick);
      }, this.config.TALLY_BILLING_INTERVAL_MS);
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.running?.done.catch(() => undefined);
    await this.history.drain();
  }

  private ticking?: Promise<void>;

  /**
   * Each tenant's walk marks by subscription, kept between runs in this process (a new process walks from each
   * subscription's start once). Marks only ever lag what the ledger says, so marks from a time another process billed
   * are still true: that one's settled periods are walked once more and skipped. They hold only while the Postgres
   * server they were made against runs (`server`, its start time): a failover to a replica that had not received the
   * last commits, or a restore to an earlier point, could take back a finalization a mark counts as settled, and
   * either one is a server started anew.
   */
  private readonly marks = new Map<string, { server: string; bySubscription: Map<string, WalkMark> }>();

  /** When the Postgres server started (pg_postmaster_start_time): another value, another server or a restart. */
  private async postgresStartedAt(): Promise<string> {
    const rows: { started: Date }[] = await this.db.query('select pg_postmaster_start_time() as started');
    return rows[0].started.toISOString();
  }

  /** The clock's pass: every tenant of the installation, one after another. */
  async runEveryTenant(): Promise<Map<string, BillingRunSummary> | undefined> {
    const tenants = (await this.access.tenants()).map((t) => t.id);
    return this.passOver(tenants, 'scheduled');
  }

  /**
   * One tenant's pass now (the admin endpoint). A pass under way that covers the tenant is joined, not
   * doubled; one that does not is waited for first (one pass at a time per process). Undefined when
   * another process holds the billing lock.
   */
  async run(tenant = this.tenancy.current): Promise<BillingRunSummary | undefined> {
    const current = this.running;
    if (current?.tenants.includes(tenant)) return (await current.done)?.get(tenant);
    await current?.done.catch(() => undefined);
    return (await this.passOver([tenant], 'manual'))?.get(tenant);
  }

  /** A pass's outcome in the metrics (none when another process held the lock). */
  private count(summaries: Map<string, BillingRunSummary> | undefined): void {
    if (!summaries) return;
    this.metrics.billingRuns.inc({ outcome: 'completed' });
    for (const summary of summaries.values())
      for (const [outcome, n] of Object.entries(summary))
        if (typeof n === 'number' && !['subscriptions', 'durationMs', 'costAlerts'].includes(outcome) && n > 0)
          this.metrics.billingSubscriptions.inc({ outcome }, n);
  }

  private running?: { tenants: readonly string[]; done: Promise<Map<string, BillingRunSummary> | undefined> };

  private passOver(
    tenants: readonly string[],
    trigger: BillingTrigger,
  ): Promise<Map<string, BillingRunSummary> | undefined> {
    if (this.running) return this.running.done.catch(() => undefined).then(() => this.passOver(tenants, trigger));
    const done = this.pass(tenants, trigger)
      .then(
        (summaries) => (this.count(summaries), summaries),
        (error: unknown) => {
          this.metrics.billingRuns.inc({ outcome: 'failed' });
          throw error;
        },
      )
      .finally(() => (this.running = undefined));
    this.running = { tenants, done };
    return done;
  }

  /**
   * Holds the billing lock on a connection of its own for the pass. If that connection is lost (Postgres
   * restarted), another process may start billing: this pass then stops taking subscriptions. Even a step
   * in flight cannot double-bill, as every invoice append names the stream revision it read. Each tenant
   * is billed as itself (its invoices, plans and usage requests carry its id).
   */
  private pass(
    tenants: readonly string[],
    trigger: BillingTrigger,
  ): Promise<Map<string, BillingRunSummary> | undefined> {
    return whileHoldingLock(
      this.postgres.connectionString,
      `${this.postgres.schemaFor('invoicing')}.billing`,
      async (lost) => {
        const summaries = new Map<string, BillingRunSummary>();
        for (const tenant of tenants)
          if (!lost.aborted) summaries.set(tenant, await this.billAndRecord(tenant, trigger, lost));
        return summaries;
      },
      (error) => this.log.warn({ reason: messageOf(error) }, 'billing lock connection lost'),
    );
  }

  /**
   * One tenant's run, recorded on the side (BillingRunHistory: never awaited, never failing the run). A run
   * that fails as a whole is recorded with its error, then fails the pass as before.
   */
  private async billAndRecord(tenant: string, trigger: BillingTrigger, lost: AbortSignal) {
    const started = Date.now();
    const startedAt = this.clock().toISOString();
    try {
      const summary = await actFor(tenant, () => this.bill(lost));
      const { costAlerts, startedAt: runStartedAt, durationMs, ...outcome } = summary;
      this.history.record({ tenant, trigger, startedAt: runStartedAt, durationMs, outcome, costAlerts, error: null });
      return summary;
    } catch (error) {
      const durationMs = Date.now() - started;
      this.history.record({
        tenant,
        trigger,
        startedAt,
        durationMs,
        outcome: noCounts(),
        costAlerts: 0,
        // What an API answer would say of it (its problem's detail), never the raw message: the history is read by
        // billing viewers, and a driver's message names schemas and tables. The raw one is in the log.
        error: publicReason(error),
      });
      throw error;
    }
  }

  private async bill(lost: AbortSignal): Promise<BillingRunSummary> {
    const started = Date.now();
    const now = this.clock();
    const tenant = this.tenancy.current;
    const summary: BillingRunSummary = {
      ...noCounts(),
      costAlerts: 0,
      startedAt: now.toISOString(),
      durationMs: 0,
    };
    const [accounts, plans, drafts, server] = await Promise.all([
      this.registry.accounts(this.db, tenant),
      this.registry.plans(this.db, tenant),
      this.invoices.drafts(this.db, tenant),
      this.postgresStartedAt(),
    ]);
    const draftsOf = new Map<string, typeof drafts>();
    for (const draft of drafts) {
      const list = draftsOf.get(draft.subscriptionId);
      if (list) list.push(draft);
      else draftsOf.set(draft.subscriptionId, [draft]);
    }
    // Each subscription's walk begins at its mark, where one holds (billing-walk.ts): a run's pass costs the periods
    // not yet settled, not every period since the subscription's start.
    const kept = this.marks.get(tenant);
    const marks = kept?.server === server ? kept.bySubscription : new Map<string, WalkMark>();
    const nextMarks = new Map<string, WalkMark>();
    const queue = accounts.flatMap((account) =>
      account.subscriptions.map((subscription) => {
        const mark = marks.get(subscription.subscriptionId);
        if (mark) nextMarks.set(subscription.subscriptionId, mark);
        const draftStarts = (draftsOf.get(subscription.subscriptionId) ?? []).map((d) => d.periodStart);
        return { account, subscription, from: walkStart(subscription, account, mark, draftStarts) };
      }),
    );
    const settled = await this.invoices.settled(
      this.db,
      tenant,
      queue.map(({ subscription, from }) => ({
        subscriptionId: subscription.subscriptionId,
        from: from === undefined ? null : new Date(from).toISOString(),
      })),
    );
    let behind = false;
    const billSubscription = async ({ account, subscription, from }: (typeof queue)[number]) => {
      if (hasBegun(subscription, now.getTime())) summary.subscriptions += 1;
      const periods = periodsToWalk(subscription, account, now.getTime(), from);
      const isSettled = (period: { start: string }) => settled.has(`${subscription.subscriptionId}@${period.start}`);
      const finalized = new Set<string>();
      try {
        // In period order: an invoice finalizes only after the ones before it (adjustments are billed forward).
        for (const period of periods) {
          if (isSettled(period)) continue;
          // Drafted and finalized in one go when the grace period is already over: both are counted.
          const outcomes = await this.service.advance(account, subscription, period, plans, { mayFinalize: !behind });
          // Usage or the registry not caught up (a rebuild, a stall) holds for every invoice: no more waiting on it this run.
          if (outcomes.includes('behind')) behind = true;
          if (outcomes.includes('finalized')) finalized.add(period.start);
          for (const outcome of outcomes) summary[outcome] += 1;
        }
        // A draft for a period the subscription no longer covers (cancelled or rescheduled back past it) is voided.
        const covered = new Set(periods.map((p) => p.start));
        for (const orphan of (draftsOf.get(subscription.subscriptionId) ?? []).filter(
          (d) => !covered.has(d.periodStart),
        )) {
          if (
            await this.service.voidDraft(
              orphan.invoiceId,
              'the subscription no longer covers this period (cancelled or rescheduled after the invoice was drafted)',
            )
          )
            summary.voided += 1;
        }
      } catch (error) {
        summary.failed += 1;
        this.log.warn(
          { subscriptionId: subscription.subscriptionId, reason: messageOf(error) },
          'billing a subscription failed (retried next run)',
        );
      }
      // Settled: seen so at the run's start, or finalized by it (appended to the ledger, which is final).
      const mark = markAfter(
        subscription,
        account,
        marks.get(subscription.subscriptionId),
        periods,
        (period) => isSettled(period) || finalized.has(period.start),
      );
      if (mark) nextMarks.set(subscription.subscriptionId, mark);
    };
    // A few subscriptions at a time: each waits mostly on round trips (usage request, ledger append), not on CPU.
    // Subscriptions share nothing, and each one's periods stay in order inside its own turn.
    let next = 0;
    const worker = async () => {
      while (next < queue.length && !lost.aborted) await billSubscription(queue[next++]);
    };
    await Promise.all(Array.from({ length: billingConcurrency }, worker));
    // Subscriptions gone from the registry leave with their marks.
    this.marks.set(tenant, { server, bySubscription: nextMarks });
    // Cost budgets, against each budgeted account's current period as rated now (a failure waits for the next run).
    if (!lost.aborted)
      try {
        summary.costAlerts = await this.costBudgets.evaluate();
      } catch (error) {
        this.log.warn({ reason: messageOf(error) }, 'measuring cost budgets failed (retried next run)');
      }
    summary.durationMs = Date.now() - started;
    return summary;
  }
}

/** A failed run's reason as the API would answer it: its problem's detail ("…unreachable right now…"), or its title. */
const publicReason = (error: unknown): string => {
  const problem = toProblem(error);
  return problem.detail ?? problem.title;
};
