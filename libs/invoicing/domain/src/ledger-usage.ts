import { levelHours, levelSpans, MeterCreatedV1, MeterEvent, readMeter } from '@tally/contracts/meters';
import type { Attribution, UsageLedgerEvent } from '@tally/contracts/usage';
import { eventsOf, ExactDecimal, unhandledEvent } from '@tally/shared/util-core';
import { canonicalDecimal } from './money';

/**
 * Reconciliation's own reading of the ledger — independent of aggregation's rollups: every usage event
 * with its final attribution, data (amendments applied) and void flag, and the meters as the ledger has them.
 */
export interface LedgerUsage {
  usageId: string;
  eventType: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
  attribution: Attribution | null;
  voided: boolean;
  /** Accounts the usage was ever attributed to (a move touches both). */
  accounts: Set<string>;
  /** Ledger position of its last change (recorded, moved, voided, amended). */
  lastPosition: bigint;
}

export interface LedgerState {
  usage: Map<string, LedgerUsage>;
  meters: Map<string, MeterCreatedV1>;
  /** Voids and amendments whose usage is not (yet) in the ledger: applied when it arrives. */
  pending: Map<string, { voided: boolean; data?: Record<string, unknown>; position: bigint }>;
}

export const emptyLedgerState = (): LedgerState => ({ usage: new Map(), meters: new Map(), pending: new Map() });

/** What reconciliation reads of the ledger: usage and its corrections, and meters. */
export type ReconciledEvent = UsageLedgerEvent | MeterEvent;
export const reconciledEvents = eventsOf<ReconciledEvent>({
  UsageRecorded: true,
  UsageReattributed: true,
  UsageVoided: true,
  UsageAmended: true,
  MeterCreated: true,
  MeterUpdated: true,
  MeterDeleted: true,
});
export const ledgerEventTypes = reconciledEvents.types;

export type LedgerEventLike = ReconciledEvent & { globalPosition: bigint };

const attributedAccount = (a: Attribution | null) => (a && a.status === 'attributed' ? a.accountId : null);

export const foldLedger = (state: LedgerState, event: LedgerEventLike): LedgerState => {
  const p = event.globalPosition;
  switch (event.type) {
    case 'UsageRecorded': {
      const r = event.data;
      if (state.usage.has(r.usageId)) return state;
      const pending = state.pending.get(r.usageId);
      const u: LedgerUsage = {
        usageId: r.usageId,
        eventType: r.eventType,
        subject: r.subject,
        time: r.time,
        data: pending?.data ?? r.data,
        attribution: r.attribution,
        voided: pending?.voided ?? false,
        accounts: new Set([attributedAccount(r.attribution)].filter((a): a is string => a !== null)),
        lastPosition: p,
      };
      state.usage.set(r.usageId, u);
      state.pending.delete(r.usageId);
      return state;
    }
    case 'UsageReattributed': {
      const r = event.data;
      const u = state.usage.get(r.usageId);
      if (!u) return state;
      u.attribution = r.next;
      const account = attributedAccount(r.next);
      if (account) u.accounts.add(account);
      u.lastPosition = p;
      return state;
    }
    case 'UsageVoided':
    case 'UsageAmended': {
      const c = event.data;
      const u = state.usage.get(c.usageId);
      const voided = event.type === 'UsageVoided';
      if (!u) {
        const before = state.pending.get(c.usageId);
        state.pending.set(c.usageId, {
          voided: voided || (before?.voided ?? false),
          data: event.type === 'UsageAmended' ? event.data.data : before?.data,
          position: p,
        });
        return state;
      }
      if (event.type === 'UsageVoided') u.voided = true;
      else u.data = event.data.data;
      u.lastPosition = p;
      return state;
    }
    case 'MeterCreated':
    case 'MeterUpdated': {
      const m = event.data;
      state.meters.set(m.slug, m);
      return state;
    }
    case 'MeterDeleted':
      state.meters.delete(event.data.slug);
      return state;
    default:
      return unhandledEvent(event);
  }
};

/**
 * A meter's value over some usage events, by the meter contract's reading rule (readMeter): exact, as the
 * rollups' SQL computes it. Undefined when the meter has no value (no events; no numeric reading for
 * MIN/MAX/AVG/LATEST).
 */
export const meterValue = (
  meter: Pick<MeterCreatedV1, 'aggregation' | 'valueProperty' | 'groupBy'>,
  usage: readonly LedgerUsage[],
): string | undefined => {
  if (usage.length === 0) return undefined;
  if (meter.aggregation === 'COUNT') return String(usage.length);
  const readings = usage.map((u) => ({ u, r: readMeter(meter, u.data) })).filter((x) => x.r.ok) as {
    u: LedgerUsage;
    r: { ok: true; value: string };
  }[];
  switch (meter.aggregation) {
    case 'SUM':
      return canonicalDecimal(readings.reduce((s, x) => s.plus(x.r.value), new ExactDecimal(0)));
    case 'UNIQUE_COUNT':
      return String(new Set(readings.map((x) => x.r.value)).size);
    case 'MIN':
    case 'MAX': {
      if (readings.length === 0) return undefined;
      const values = readings.map((x) => new ExactDecimal(x.r.value));
      return canonicalDecimal(meter.aggregation === 'MIN' ? ExactDecimal.min(...values) : ExactDecimal.max(...values));
    }
    case 'AVG': {
      if (readings.length === 0) return undefined;
      const sum = readings.reduce((s, x) => s.plus(x.r.value), new ExactDecimal(0));
      // As the rollups' SQL: divided at 40 decimal places, half away from zero.
      return canonicalDecimal(sum.dividedBy(readings.length).toDecimalPlaces(40, ExactDecimal.ROUND_HALF_UP));
    }
    case 'LATEST': {
      if (readings.length === 0) return undefined;
      const latest = [...readings].sort((a, b) =>
        a.u.time === b.u.time ? (a.u.usageId < b.u.usageId ? 1 : -1) : a.u.time < b.u.time ? 1 : -1,
      )[0];
      return canonicalDecimal(latest.r.value);
    }
    default:
      return undefined;
  }
};

/**
 * A time-weighted meter's level spans in [from, to), by the meter contract's twin of the rollups' SQL
 * (contracts/meters time-weighted.ts). `usage`: every report of the meter's event type, whoever it was attributed
 * to — a subject's report under another account (or parked) ends the level before it. Computed once per meter and
 * interval, then read per account (timeWeightedValues).
 */
export const timeWeightedSpans = (
  meter: Pick<MeterCreatedV1, 'aggregation' | 'valueProperty' | 'valueExpression' | 'groupBy'>,
  usage: readonly LedgerUsage[],
  from: Date,
  to: Date,
) =>
  levelSpans(
    usage
      .filter((u) => !u.voided)
      .map((u) => {
        const reading = readMeter({ ...meter, groupBy: {} }, u.data);
        return {
          usageId: u.usageId,
          subject: u.subject,
          time: u.time,
          level: reading.ok ? reading.value : null,
          of: u,
        };
      }),
    from,
    to,
  );

/** One account's values of a time-weighted meter, per value of the `per` attribute (null: the account as a whole). */
export const timeWeightedValues = (
  spans: ReturnType<typeof timeWeightedSpans>,
  accountId: string,
  per: string | null,
): Map<string | null, string> => {
  const byGroup = new Map<string | null, typeof spans>();
  for (const span of spans) {
    const a = span.report.of.attribution;
    if (a?.status !== 'attributed' || a.accountId !== accountId) continue;
    const group = per === null ? null : (a.attributes[per] ?? null);
    byGroup.set(group, [...(byGroup.get(group) ?? []), span]);
  }
  return new Map([...byGroup].map(([group, list]) => [group, canonicalDecimal(levelHours(list))]));
};
