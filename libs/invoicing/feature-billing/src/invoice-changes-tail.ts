import type { InvoiceEvent } from '@tally/contracts/invoices';
import type { EventStore } from '@tally/shared/data-access-event-store';

/**
 * The invoice events that change a standing (a re-draft changes only a draft's lines; credit notes are not
 * standings). Read by the tail, which must see every one after the projection's checkpoint.
 */
const standingChanges: readonly InvoiceEvent['type'][] = ['InvoiceDrafted', 'InvoiceFinalized', 'InvoiceVoided'];

const key = (tenant: string, subscriptionId: string) => `${tenant}\u0000${subscriptionId}`;

/**
 * Which subscriptions' invoices changed in the ledger after the invoice projection's checkpoint: what makes a
 * subscription's standing summary (a projection row) safe to decide on without reading each earlier invoice's stream
 * revision. The ledger's invoice events after the checkpoint are read once by this process as they come (a billing
 * run's own drafts and finalizations, mostly), not once per invoice: a few thousand small reads per run instead of
 * one revision per earlier period per invoice.
 *
 * Sound because the projection writes its rows and checkpoint in one transaction and the ledger's positions are
 * only ever appended in order (the Postgres store serialises appends): every change at or before the checkpoint is
 * in the summary, every one after it is in what this tail read (it reads to the ledger's end after being asked).
 */
export class InvoiceChangesTail {
  /** Positions read up to here (undefined: not started, or given up). */
  private readThrough: bigint | undefined;
  /** `changed` holds every change after this position. */
  private knownAfter: bigint | undefined;
  /** Each subscription's latest change read, by tenant and subscription. */
  private readonly changed = new Map<string, bigint>();
  /** Per tenant, the latest void read: a void names no subscription, so it counts for the tenant's every one. */
  private readonly voided = new Map<string, bigint>();
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: Pick<EventStore, 'readAll' | 'countAfter'>,
    private readonly limits = { page: 1_000, maxBehind: 20_000, keep: 100_000 },
  ) {}

  /**
   * For each subscription, whether none of its invoices changed after `checkpoint` in the ledger as it stands once
   * this call has begun; undefined when the tail cannot say (the projection is far behind, or behind what this tail
   * already let go). A read begun before this call is never joined: it may have missed a change the caller's rows
   * do not show.
   */
  async unchangedAfter(
    checkpoint: bigint,
    subscriptions: readonly { tenant: string; subscriptionId: string }[],
  ): Promise<boolean[] | undefined> {
    const read = this.reading.then(() => this.readFrom(checkpoint));
    this.reading = read.catch(() => undefined);
    await read;
    // Answered before any other read can move the tail on (nothing is awaited from here).
    if (this.knownAfter === undefined || checkpoint < this.knownAfter) return undefined;
    return subscriptions.map(
      ({ tenant, subscriptionId }) =>
        (this.changed.get(key(tenant, subscriptionId)) ?? -1n) <= checkpoint &&
        (this.voided.get(tenant) ?? -1n) <= checkpoint,
    );
  }

  private async readFrom(checkpoint: bigint): Promise<void> {
    if (this.readThrough === undefined || checkpoint >= this.readThrough) {
      // The projection has everything read so far: start again at its checkpoint, forgetting what it has.
      if (
        (await this.ledger.countAfter({
          after: checkpoint,
          eventTypes: standingChanges,
          limit: this.limits.maxBehind,
        })) >= this.limits.maxBehind
      ) {
        this.forget(undefined);
        return; // far behind (a rebuild, a stall): billing reads the earlier invoices' rows, as without the tail
      }
      this.forget(checkpoint);
    } else if (this.changed.size > this.limits.keep && this.knownAfter !== undefined && checkpoint > this.knownAfter) {
      for (const [k, position] of this.changed) if (position <= checkpoint) this.changed.delete(k);
      this.knownAfter = checkpoint;
    }
    for (;;) {
      const events = await this.ledger.readAll({
        after: this.readThrough,
        maxCount: this.limits.page,
        eventTypes: standingChanges,
      });
      for (const event of events) this.note(event.data, event.globalPosition);
      if (events.length > 0) this.readThrough = events[events.length - 1].globalPosition;
      if (events.length < this.limits.page) return;
    }
  }

  private note(data: { tenant?: unknown; subscriptionId?: unknown }, position: bigint): void {
    const tenant = String(data.tenant);
    if (typeof data.subscriptionId === 'string') this.changed.set(key(tenant, data.subscriptionId), position);
    else this.voided.set(tenant, position);
  }

  private forget(position: bigint | undefined): void {
    this.changed.clear();
    this.voided.clear();
    this.readThrough = position;
    this.knownAfter = position;
  }
}
