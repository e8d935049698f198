import { eventsOf, LedgerEvent } from '@tally/shared/util-core';

/**
 * Meters as the published language: aggregation owns them; invoicing prices usage by meter slug.
 * Stream `meter-{tenant}_{slug}`: MeterCreated, MeterUpdated (name, description, metadata, new group-by keys),
 * then possibly MeterDeleted (a slug can be created again after).
 */
export const meterCreatedType = 'MeterCreated';
export const meterDeletedType = 'MeterDeleted';
export const meterUpdatedType = 'MeterUpdated';

export interface MeterCreatedV1 {
  tenant: string;
  /** A ULID (OpenMeter's meter id); events from before ids were kept lack it and are given the derived one. */
  id?: string;
  slug: string;
  name: string;
  description: string | null;
  eventType: string;
  /** TIME_WEIGHTED_SUM: a level carried over time, in level-hours (docs/aggregation.md, "Gauge meters"). */
  aggregation: 'SUM' | 'COUNT' | 'UNIQUE_COUNT' | 'MIN' | 'MAX' | 'AVG' | 'LATEST' | 'TIME_WEIGHTED_SUM';
  valueProperty: string | null;
  /** A derived value (value-expression.ts), instead of valueProperty; absent on meters that read one property. */
  valueExpression?: string | null;
  groupBy: Record<string, string>;
  /** Only usage at or after this instant counts (absent: all). */
  eventFrom?: string | null;
  metadata?: Record<string, string> | null;
  createdAt: string;
}

/**
 * What may change once a meter exists (OpenMeter's MeterUpdate): its name, description and metadata, and new
 * group-by keys — nothing that changes a number it has produced. The event carries the whole definition after
 * the change, so that a reader needs no earlier event.
 */
export interface MeterUpdatedV1 extends MeterCreatedV1 {
  updatedAt: string;
}

export interface MeterDeletedV1 {
  tenant: string;
  slug: string;
  deletedAt: string;
}

export const meterStream = (tenant: string, slug: string): string => `meter-${tenant}_${slug}`;

export type MeterCreated = LedgerEvent<typeof meterCreatedType, MeterCreatedV1>;
export type MeterDeleted = LedgerEvent<typeof meterDeletedType, MeterDeletedV1>;
export type MeterUpdated = LedgerEvent<typeof meterUpdatedType, MeterUpdatedV1>;
export type MeterEvent = MeterCreated | MeterUpdated | MeterDeleted;
export const isMeterEvent = eventsOf<MeterEvent>({ MeterCreated: true, MeterUpdated: true, MeterDeleted: true });
