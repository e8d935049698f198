import { DataSource } from 'typeorm';
import { MeterCreatedV1, readMeter } from '@tally/contracts/meters';
import { ReconciliationLedgerTables } from '@tally/invoicing/data-access-billing';
import { foldBatch, ledgerEventTypes, LedgerUsage, reconciledEvents, touchedBy } from '@tally/invoicing/domain';
import { EventStore, RecordedEvent } from '@tally/shared/data-access-event-store';
import { inReadOnlySnapshot } from '@tally/shared/data-access-postgres';

/** What one reconciliation reads of the fold, in one snapshot. */
export interface LedgerView {
  /** The last ledger position the rows reflect (null: nothing folded yet). */
  position: bigint | null;
  meters: Map<string, MeterCreatedV1>;
  /** The tenant's usage ever attributed to an account, with window.from <= time < window.to. */
  usage: LedgerUsage[];
  /**
   * Per time-weighted meter: its reports in its interval, and each subject's last report with a level before
   * it (the level carried in). levelSpans over these gives what it gives over every report of the type.
   */
  reports: Map<string, LedgerUsage[]>;
}

/** A time-weighted meter's interval to read: [from, to), RFC 3339 as the ledger's times. */
export interface TimeWeightedRead {
  meter: MeterCreatedV1;
  from: string;
  to: string;
}

/** Whether a report sets a level (levelSpans ignores the others): the reading timeWeightedSpans makes. */
const setsLevel = (meter: MeterCreatedV1, u: LedgerUsage) => readMeter({ ...meter, groupBy: {} }, u.data).ok;

/**
 * Reconciliation's fold of the ledger, kept in Postgres between runs. A run first catches it up from its
 * checkpoint to the position it needs (the ledger's tail only: the cost of a run follows what was appended
 * since the previous one, not the ledger's size), then reads its period's rows in one snapshot. Still an
 * independent derivation: the ledger folded by foldLedger, never aggregation's rollups.
 *
 * - One transaction per batch holds the rows and the checkpoint; the checkpoint row is locked for it, so two
 *   runs (two processes) catching up at once take turns batch by batch and never fold an event twice.
 * - A run that fails half way (Postgres gone) leaves the last committed batch; the next resumes after it.
 * - Rebuild: delete the checkpoint row; the next run empties the tables and folds the ledger from the start.
 */
export class ReconciliationLedger {
  constructor(
    private readonly ledger: EventStore,
    private readonly db: DataSource,
    private readonly tables: ReconciliationLedgerTables,
    private readonly batchSize = 5_000,
  ) {}

  /** Folds the ledger's events after the checkpoint, up to `upTo` (inclusive). */
  async catchUp(upTo: bigint): Promise<void> {
    const read = (after: bigint | null) =>
      this.ledger.readAll({ after: after ?? undefined, maxCount: this.batchSize, eventTypes: ledgerEventTypes });
    // The next batch is read while this one is written (Postgres reads and writes overlap on two cores); used only
    // if the checkpoint is still where it was read from (another run may have folded it meanwhile).
    let next: { after: bigint; events: Promise<RecordedEvent[]> } | undefined;
    for (let more = true; more;) {
      more = await this.db.transaction(async (tx) => {
        const position = await this.tables.lockCheckpoint(tx);
        if (position !== null && position >= upTo) return false;
        const events = next && next.after === position ? await next.events : await read(position);
        next = undefined;
        const within = events.filter((event) => event.globalPosition <= upTo);
        const batch = within.filter(reconciledEvents);
        if (within.length === 0) return false;
        // Full and moved on by what was read, not what was kept: a read of other types must not stop the catch-up.
        const last = within[within.length - 1].globalPosition;
        const full = within.length === this.batchSize;
        if (full) {
          next = { after: last, events: read(last) };
          // A failed read is thrown where it is awaited (the next turn), never left unhandled.
          next.events.catch(() => undefined);
        }
        // Every tenant's events: the ledger is shared, the checkpoint is one.
        await this.tables.write(tx, foldBatch(await this.tables.load(tx, touchedBy(batch)), batch));
        await this.tables.moveCheckpoint(tx, last);
        return full;
      });
    }
  }

  /** The rows a tenant's run compares, in one snapshot (another run catching up meanwhile is not seen half way). */
  read(
    tenant: string,
    window: { from: string; to: string } | null,
    timeWeighted: (meters: Map<string, MeterCreatedV1>) => TimeWeightedRead[],
  ): Promise<LedgerView> {
    return inReadOnlySnapshot(this.db, async (tx) => {
      const [position, meters] = await Promise.all([this.tables.position(tx), this.tables.meters(tx, tenant)]);
      const usage = window ? await this.tables.attributedBetween(tx, tenant, window.from, window.to) : [];
      // One range per meter: its earliest start to its latest end (levels before a later start are in it).
      const ranges = new Map<string, TimeWeightedRead>();
      for (const r of timeWeighted(meters)) {
        const known = ranges.get(r.meter.slug);
        ranges.set(
          r.meter.slug,
          known
            ? { meter: r.meter, from: r.from < known.from ? r.from : known.from, to: r.to > known.to ? r.to : known.to }
            : r,
        );
      }
      const reports = new Map<string, LedgerUsage[]>();
      for (const { meter, from, to } of ranges.values()) {
        const inRange = await this.tables.reportsBetween(tx, tenant, meter.eventType, from, to);
        // The level each subject carries into the range: its last report before it that sets one.
        let carried = await this.tables.lastReportsBefore(tx, tenant, meter.eventType, from);
        while (carried.length > 0) {
          const notLevels = carried.filter((u) => !setsLevel(meter, u));
          inRange.push(...carried.filter((u) => setsLevel(meter, u)));
          carried = await this.tables.lastReportsBefore(tx, tenant, meter.eventType, notLevels);
        }
        reports.set(meter.slug, inRange);
      }
      return { position, meters, usage, reports };
    });
  }

  /** Whether usage of the account in [from, to) changed after a position: for a segment outside the window read. */
  changedAfter(tenant: string, accountId: string, from: string, to: string, after: bigint): Promise<boolean> {
    return this.tables.changedAfter(this.db, tenant, accountId, from, to, after);
  }
}
