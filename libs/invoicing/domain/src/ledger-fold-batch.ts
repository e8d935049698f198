import type { MeterCreatedV1 } from '@tally/contracts/meters';
import { emptyLedgerState, foldLedger, LedgerEventLike, LedgerState, LedgerUsage } from './ledger-usage';

/**
 * The ledger fold (foldLedger) applied a batch at a time to state kept elsewhere (reconciliation keeps it in
 * Postgres, so a run reads only the ledger's tail). The caller loads what the batch touches (`touchedBy`), the
 * batch is folded in memory by foldLedger itself — the same rules, event by event, in ledger order — and what
 * changed comes back as rows to write. Meters start from nothing: their events overwrite or delete, so the last
 * one of the batch per slug decides.
 */
export type PendingCorrection = LedgerState['pending'] extends Map<string, infer P> ? P : never;

export interface LedgerFoldChanges {
  usage: { tenant: string; usage: LedgerUsage }[];
  pending: { tenant: string; usageId: string; correction: PendingCorrection }[];
  /** Pending corrections consumed by their usage in this batch. */
  pendingCleared: { tenant: string; usageId: string }[];
  /** With the position of the batch's last event of the meter (what guards the write). */
  meters: { tenant: string; meter: MeterCreatedV1; position: bigint }[];
  metersDeleted: { tenant: string; slug: string; position: bigint }[];
}

const usageIdOf = (event: LedgerEventLike): string | null => {
  switch (event.type) {
    case 'UsageRecorded':
    case 'UsageReattributed':
    case 'UsageVoided':
    case 'UsageAmended':
      return event.data.usageId;
    case 'MeterCreated':
    case 'MeterUpdated':
    case 'MeterDeleted':
      return null;
    default: {
      const _never: never = event;
      return _never;
    }
  }
};

/** The usage ids a batch touches, by tenant: the rows (usage and pending corrections) to load before folding it. */
export const touchedBy = (events: readonly LedgerEventLike[]): Map<string, Set<string>> => {
  const touched = new Map<string, Set<string>>();
  for (const event of events) {
    const usageId = usageIdOf(event);
    if (usageId === null) continue;
    let ids = touched.get(event.data.tenant);
    if (!ids) touched.set(event.data.tenant, (ids = new Set()));
    ids.add(usageId);
  }
  return touched;
};

/**
 * Folds a batch into `states` (per tenant, holding at least the touched rows as they were before it) and
 * returns what changed. A usage changed iff its lastPosition is inside the batch: every rule that changes one
 * sets it to the event's position.
 */
export const foldBatch = (states: Map<string, LedgerState>, events: readonly LedgerEventLike[]): LedgerFoldChanges => {
  const changes: LedgerFoldChanges = { usage: [], pending: [], pendingCleared: [], meters: [], metersDeleted: [] };
  if (events.length === 0) return changes;
  const first = events[0].globalPosition;
  const touched = touchedBy(events);
  // Corrections held before the batch: the ones its usage may consume (deleted then).
  const held = new Set<string>();
  for (const [tenant, ids] of touched)
    for (const usageId of ids)
      if (states.get(tenant)?.pending.has(usageId)) held.add(JSON.stringify([tenant, usageId]));
  const meters = new Map<string, { tenant: string; slug: string; position: bigint }>();
  for (const event of events) {
    const tenant = event.data.tenant;
    let state = states.get(tenant);
    if (!state) states.set(tenant, (state = emptyLedgerState()));
    foldLedger(state, event);
    if (event.type === 'MeterCreated' || event.type === 'MeterUpdated' || event.type === 'MeterDeleted')
      meters.set(JSON.stringify([tenant, event.data.slug]), {
        tenant,
        slug: event.data.slug,
        position: event.globalPosition,
      });
  }
  for (const [tenant, ids] of touched) {
    const state = states.get(tenant) as LedgerState;
    for (const usageId of ids) {
      const usage = state.usage.get(usageId);
      if (usage && usage.lastPosition >= first) changes.usage.push({ tenant, usage });
      const correction = state.pending.get(usageId);
      if (correction) {
        if (correction.position >= first) changes.pending.push({ tenant, usageId, correction });
      } else if (held.has(JSON.stringify([tenant, usageId]))) changes.pendingCleared.push({ tenant, usageId });
    }
  }
  for (const { tenant, slug, position } of meters.values()) {
    const meter = states.get(tenant)?.meters.get(slug);
    if (meter) changes.meters.push({ tenant, meter, position });
    else changes.metersDeleted.push({ tenant, slug, position });
  }
  return changes;
};
