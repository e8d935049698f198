import { deterministicUuid, utcMonth } from '@tally/shared/util-core';

/**
 * Usage facts in the ledger (the event store), written by attribution, read by aggregation and invoicing.
 * The ledger event id of a usage event is derived from (tenant, source, id), so however often an
 * event arrives, the ledger stores it once: that is Tally's exact deduplication.
 */
export const usageRecordedType = 'UsageRecorded';
export const usageAttributedType = 'UsageAttributed';

export type Attribution = { status: 'attributed'; accountId: string } | { status: 'parked'; reason: ParkedReason };
export type ParkedReason = 'unknown_subject';

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

/** A parked usage event, now attributed; carries the usage so readers need nothing else. */
export interface UsageAttributedV1 {
  tenant: string;
  usageId: string;
  accountId: string;
  eventType: string;
  subject: string;
  time: string;
  data: Record<string, unknown>;
}

export const usageLedgerId = (tenant: string, source: string, id: string): string => deterministicUuid('tally.usage.v1', tenant, source, id);
export const usageAttributedId = (usageId: string, accountId: string): string => deterministicUuid('tally.usage-attributed.v1', usageId, accountId);

/** Attributed usage: `usage-{tenant}_{account}.{YYYY-MM}` (by the event's own month). */
export const accountUsageStream = (tenant: string, accountId: string, time: Date): string => `usage-${tenant}_${accountId}.${utcMonth(time)}`;
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
export const usageCorrectionId = (usageId: string, action: 'void' | 'amend', reason: string, data?: Record<string, unknown>): string =>
  deterministicUuid('tally.usage-correction.v1', usageId, action, reason, JSON.stringify(data ?? null));

export const usageCorrectionStream = (tenant: string, usageId: string): string => `usagecorrections-${tenant}_${usageId}`;
