import { deterministicUuid, eventsOf, LedgerEvent, utcMonth } from '@tally/shared/util-core';

/**
 * Usage facts in the ledger (the event store), written by attribution, read by aggregation and invoicing.
 * The ledger event id of a usage event is derived from (tenant, source, id), so however often an
 * event arrives, the ledger stores it once: that is Tally's exact deduplication.
 */
export const usageRecordedType = 'UsageRecorded';
export const usageReattributedType = 'UsageReattributed';

/**
 * Who pays for a usage event: the account that held its subject at the event's own time, through the
 * subscription active then (and its plan then), with the subject's attributes (app, environment, …).
 * Otherwise it is parked, with the reason — never dropped, never billed to someone by guess.
 */
export type Attribution =
  | {
      status: 'attributed';
      accountId: string;
      subscriptionId: string;
      planId: string;
      attributes: Record<string, string>;
    }
  | { status: 'parked'; reason: ParkedReason };

/** unknown_subject: never registered; no_owner_at_time: registered, but not yet at the event's time; no_subscription: the owner had no subscription then. */
export type ParkedReason = 'unknown_subject' | 'no_owner_at_time' | 'no_subscription';

export const sameAttribution = (a: Attribution, b: Attribution): boolean =>
  JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
const canonical = (a: Attribution) =>
  a.status === 'parked'
    ? [a.status, a.reason]
    : [
        a.status,
        a.accountId,
        a.subscriptionId,
        a.planId,
        Object.entries(a.attributes).sort(([x], [y]) => (x < y ? -1 : 1)),
      ];

export interface UsageRecordedV1 {
  tenant: string;
  usageId: string;
  source: string;
  eventId: string;
  eventType: string;
  subject: string;
  time: string;
  receivedAt: string;
  data: Record<string, unknown>;
  attribution: Attribution;
}

/**
 * A usage event's attribution changed because the registry did (a subject registered, a backdated
 * transfer, a retroactive correction, a subscription moved): from `previous` to `next`, with the reason
 * and the registry event that caused it. Readers move the usage; the original UsageRecorded stays.
 */
export interface UsageReattributedV1 {
  tenant: string;
  usageId: string;
  subject: string;
  eventType: string;
  time: string;
  previous: Attribution;
  next: Attribution;
  reason: string;
  /** Ledger id of the registry event (or the UsageRecorded) that caused the change. */
  causeId: string;
}

export const usageLedgerId = (tenant: string, source: string, id: string): string =>
  deterministicUuid('tally.usage.v1', tenant, source, id);
/** One re-attribution per (usage, cause): replays and retries append nothing new. */
export const usageReattributedId = (usageId: string, causeId: string): string =>
  deterministicUuid('tally.usage-reattributed.v1', usageId, causeId);

/** Attributed usage: `usage-{tenant}_{account}.{YYYY-MM}` (by the event's own month). */
export const accountUsageStream = (tenant: string, accountId: string, time: Date): string =>
  `usage-${tenant}_${accountId}.${utcMonth(time)}`;
/** Usage waiting for its subject to be known: `parkedusage-{tenant}_{subject}`. */
export const parkedUsageStream = (tenant: string, subject: string): string => `parkedusage-${tenant}_${subject}`;

/** Corrections in the ledger: new events, never edits. Stream `usagecorrections-{tenant}_{usageId}`. */
export const usageVoidedType = 'UsageVoided';
export const usageAmendedType = 'UsageAmended';

export interface UsageVoidedV1 {
  tenant: string;
  usageId: string;
  source: string;
  eventId: string;
  reason: string;
  correctedAt: string;
}

export interface UsageAmendedV1 extends UsageVoidedV1 {
  /** Replaces the original event's data from now on. */
  data: Record<string, unknown>;
}

/** The same correction sent twice is one ledger event; a different reason or data is another. */
export const usageCorrectionId = (
  usageId: string,
  action: 'void' | 'amend',
  reason: string,
  data?: Record<string, unknown>,
): string => deterministicUuid('tally.usage-correction.v1', usageId, action, reason, JSON.stringify(data ?? null));

export const usageCorrectionStream = (tenant: string, usageId: string): string =>
  `usagecorrections-${tenant}_${usageId}`;

/** The usage facts of the ledger, as readers narrow them (see LedgerEvent). */
export type UsageRecorded = LedgerEvent<typeof usageRecordedType, UsageRecordedV1>;
export type UsageReattributed = LedgerEvent<typeof usageReattributedType, UsageReattributedV1>;
export type UsageVoided = LedgerEvent<typeof usageVoidedType, UsageVoidedV1>;
export type UsageAmended = LedgerEvent<typeof usageAmendedType, UsageAmendedV1>;
export type UsageLedgerEvent = UsageRecorded | UsageReattributed | UsageVoided | UsageAmended;
export const isUsageLedgerEvent = eventsOf<UsageLedgerEvent>({
  UsageRecorded: true,
  UsageReattributed: true,
  UsageVoided: true,
  UsageAmended: true,
});
