import type { PeriodBounds } from '@tally/invoicing/domain';
import type { EventStore, RecordedEvent } from '@tally/shared/data-access-event-store';
import { standingChangeTypes, standingOmittedData } from './standings.projection';

const key = (tenant: string, id: string) => `${tenant}\u0000${id}`;

/** Which subscription each of a tenant's invoices belongs to, as far as known (the standings projection's rows). */
export type SubscriptionsOfInvoices = (tenant: string, invoiceIds: readonly string[]) => Promise<Map<string, string>>;

export interface TailLimits {
  /** Events per ledger read. */
  page: number;
  /** A checkpoint this many standing changes behind the ledger is not followed (a rebuild, a stall). */
  maxBehind: number;
  /** Subscriptions (and drafts' invoices) remembered before those the projection has passed are let go. */
  keep: number;
  /** After finding the projection far behind, how long before counting again. */
  recountAfterMs: number;
}

/**
 * Which subscriptions' invoices changed in the ledger after the invoicing_standings projection's checkpoint: what
 * makes a subscription's standing summary safe to decide on. The ledger's standing changes (InvoiceDrafted,
 * InvoiceFinalized, InvoiceVoided) after the checkpoint are read once by this process as they come — a billing run's
 * own drafts and finalizations, mostly — not once per invoice.
 *
 * Sound because the projection writes its rows and checkpoint in one transaction, the checkpoint is read before the
 * summaries (so they hold at least every change up to it), and the ledger's positions only grow in commit order (the
 * Postgres store serialises appends): every change after the checkpoint is in what this tail has read once a read
 * begun after the question has reached the ledger's end.
 */
/** Told when the projection is found too far behind to follow, and when it is followed again (an operator's log). */
export interface TailWatcher {
  farBehind(atLeast: number): void;
  following(): void;
}

export class InvoiceChangesTail {
  /** Positions read up to here (undefined: not following). */
  private readThrough: bigint | undefined;
  /** Every change after this position is remembered (undefined: none can be answered for). */
  private knownAfter: bigint | undefined;
  /** Each subscription's latest change read other than a draft (a finalization, a void). */
  private readonly changed = new Map<string, bigint>();
  /** Each subscription's drafts read, with their periods: folded into its summary by the caller. */
  private readonly drafts = new Map<string, { position: bigint; period: PeriodBounds }[]>();
  /** Per tenant, the latest void whose subscription could not be told: it counts for the tenant's every one. */
  private readonly unresolvedVoids = new Map<string, bigint>();
  /** Subscriptions of the invoices whose drafts were read (a void names only its invoice). */
  private readonly draftedFor = new Map<string, string>();
  /** The latest checkpoint asked about: what may be let go. */
  private latestCheckpoint = -1n;
  /** Until when a projection found too far behind is taken to still be (no count asked before). */
  private farBehindUntil = 0;
  /** Found too far behind, and not followed since: the watcher is told once each way. */
  private farBehind = false;
  /** A read queued behind the one under way and not begun: a caller may join it (it begins after the call). */
  private pending: { start: bigint; done: Promise<void> } | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: Pick<EventStore, 'readAll' | 'countAfter'>,
    private readonly subscriptionsOf: SubscriptionsOfInvoices,
    private readonly limits: TailLimits = { page: 1_000, maxBehind: 20_000, keep: 100_000, recountAfterMs: 5_000 },
    private readonly watcher?: TailWatcher,
  ) {}

  /**
   * For each subscription, what changed of its invoices after `checkpoint` in the ledger as it stands once this call
   * has begun: the periods of the invoices drafted since (none: nothing changed), which the caller folds into its
   * summary; undefined for a subscription with any other change (a finalization, a void). Undefined for all when the
   * tail cannot say (the projection far behind, or behind what the tail let go). A read begun before the call is
   * never relied on: it may have missed a change the caller's rows do not show.
   */
  async draftsAfter(
    checkpoint: bigint,
    subscriptions: readonly { tenant: string; subscriptionId: string }[],
  ): Promise<(PeriodBounds[] | undefined)[] | undefined> {
    if (checkpoint > this.latestCheckpoint) this.latestCheckpoint = checkpoint;
    await this.readBegunAfterNow(checkpoint);
    // Whatever happened since (a prune, a restart) raised or cleared knownAfter with what it forgot: checked here.
    if (this.knownAfter === undefined || checkpoint < this.knownAfter) return undefined;
    return subscriptions.map(({ tenant, subscriptionId }) => {
      const k = key(tenant, subscriptionId);
      if ((this.changed.get(k) ?? -1n) > checkpoint || (this.unresolvedVoids.get(tenant) ?? -1n) > checkpoint)
        return undefined;
      return (this.drafts.get(k) ?? []).filter((d) => d.position > checkpoint).map((d) => d.period);
    });
  }

  private readBegunAfterNow(checkpoint: bigint): Promise<void> {
    if (this.pending) {
      if (checkpoint < this.pending.start) this.pending.start = checkpoint;
      return this.pending.done;
    }
    const pending = { start: checkpoint, done: Promise.resolve() };
    pending.done = this.reading.then(() => {
      this.pending = undefined;
      return this.read(pending.start);
    });
    this.pending = pending;
    this.reading = pending.done.catch(() => undefined);
    return pending.done;
  }

  private async read(start: bigint): Promise<void> {
    if (this.knownAfter === undefined) {
      // Not following: start at the checkpoint, unless it is far behind. (A caller whose checkpoint is older than
      // what is remembered — it read it before a concurrent caller read a newer one — is not answered; no restart.)
      // Found far behind a moment ago: not counted again for a while (on KurrentDB or the archive, counting reads).
      if (Date.now() < this.farBehindUntil) return;
      this.forget();
      const behind = await this.ledger.countAfter({
        after: start,
        eventTypes: standingChangeTypes,
        limit: this.limits.maxBehind,
      });
      if (behind >= this.limits.maxBehind) {
        this.farBehindUntil = Date.now() + this.limits.recountAfterMs;
        if (!this.farBehind) this.watcher?.farBehind(behind);
        this.farBehind = true;
        return;
      }
      this.readThrough = start;
      await this.readToEnd();
      this.knownAfter = start; // only now: an answer given during the first read would miss what it had not reached
      if (this.farBehind) this.watcher?.following();
      this.farBehind = false;
      return;
    }
    if (this.changed.size + this.drafts.size > this.limits.keep) this.letGo(start);
    // A later void of one of these invoices is told by the projection's rows instead.
    if (this.draftedFor.size > this.limits.keep) this.draftedFor.clear();
    await this.readToEnd();
  }

  private async readToEnd(): Promise<void> {
    for (;;) {
      const events = await this.ledger.readAll({
        after: this.readThrough,
        maxCount: this.limits.page,
        eventTypes: standingChangeTypes,
        omitData: standingOmittedData,
      });
      await this.note(events);
      if (events.length > 0) this.readThrough = events[events.length - 1].globalPosition;
      if (events.length < this.limits.page) return;
    }
  }

  private async note(events: readonly RecordedEvent[]): Promise<void> {
    const voids: { tenant: string; invoiceId: string; position: bigint }[] = [];
    for (const { type, data, globalPosition } of events) {
      const tenant = String(data.tenant);
      const invoiceId = String(data.invoiceId);
      const subscriptionId = typeof data.subscriptionId === 'string' ? data.subscriptionId : undefined;
      const period = data.period as Partial<PeriodBounds> | undefined;
      if (type === 'InvoiceDrafted' && subscriptionId !== undefined && period?.start && period.end) {
        this.draftedFor.set(key(tenant, invoiceId), subscriptionId);
        const drafted = { position: globalPosition, period: { start: period.start, end: period.end } };
        const known = this.drafts.get(key(tenant, subscriptionId));
        // A page read again after a failed one (its voids not placed) must not count a draft twice.
        if (!known) this.drafts.set(key(tenant, subscriptionId), [drafted]);
        else if (!known.some((d) => d.position === globalPosition)) known.push(drafted);
        continue;
      }
      const named = subscriptionId ?? this.draftedFor.get(key(tenant, invoiceId));
      if (named !== undefined) this.changed.set(key(tenant, named), globalPosition);
      else voids.push({ tenant, invoiceId, position: globalPosition });
    }
    for (const tenant of new Set(voids.map((v) => v.tenant))) {
      const ofTenant = voids.filter((v) => v.tenant === tenant);
      const found = await this.subscriptionsOf(
        tenant,
        ofTenant.map((v) => v.invoiceId),
      );
      for (const { invoiceId, position } of ofTenant) {
        const subscriptionId = found.get(invoiceId);
        if (subscriptionId === undefined) this.unresolvedVoids.set(tenant, position);
        else if ((this.changed.get(key(tenant, subscriptionId)) ?? -1n) < position)
          this.changed.set(key(tenant, subscriptionId), position);
      }
    }
  }

  /**
   * Lets go of what the projection has passed, up to the oldest checkpoint of this read's own callers (`start`), so
   * they are still answered; a checkpoint before that can no longer be answered for.
   */
  private letGo(start: bigint): void {
    const passed = start < this.latestCheckpoint ? start : this.latestCheckpoint;
    if (this.knownAfter === undefined || passed <= this.knownAfter) return;
    this.knownAfter = passed;
    for (const [k, position] of this.changed) if (position <= passed) this.changed.delete(k);
    for (const [k, position] of this.unresolvedVoids) if (position <= passed) this.unresolvedVoids.delete(k);
    for (const [k, drafted] of this.drafts) {
      const kept = drafted.filter((d) => d.position > passed);
      if (kept.length === 0) this.drafts.delete(k);
      else this.drafts.set(k, kept);
    }
  }

  private forget(): void {
    this.changed.clear();
    this.drafts.clear();
    this.unresolvedVoids.clear();
    this.draftedFor.clear();
    this.readThrough = undefined;
    this.knownAfter = undefined;
  }
}
