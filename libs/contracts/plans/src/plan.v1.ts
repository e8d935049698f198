import { eventsOf, LedgerEvent } from '@tally/shared/util-core';

/**
 * Price plans as the published language: invoicing owns them; attribution checks that a subscription
 * names a plan that exists, in the account's currency. Stream `plan-{tenant}_{id}`: PlanCreated (version 1,
 * in force from the beginning), then PlanRevised events, each a new version in force from its instant on —
 * usage before that instant keeps the prices it had.
 */
export const planCreatedType = 'PlanCreated';
export const planRevisedType = 'PlanRevised';

export interface TierV1 {
  /** Inclusive upper bound of the tier in billable units; null = no bound (only the last tier). */
  upTo: string | null;
  unitPrice: string;
  /** Charged once when any unit falls in the tier; '0' when absent. */
  flatPrice: string;
}

/** One meter's price. The models' rules: libs/invoicing/domain charge.ts. Decimals are texts. */
export interface ChargeV1 {
  /** Meter slug (aggregation's meters). */
  meter: string;
  model: 'unit' | 'graduated' | 'volume' | 'package';
  /** Subject attribute the allowance and tiers apply to separately; null = the whole subscription. */
  per: string | null;
  /** Free quantity per billing period (per `per` group); '0' when absent. */
  allowance: string;
  /** unit model */
  unitPrice: string | null;
  /** graduated and volume models */
  tiers: TierV1[] | null;
  /**
   * unit, graduated and volume models: how many units `unitPrice` (each tier's too) is the price of — a power of
   * ten (1000: per thousand requests, 1000000: per million), so the amount stays an exact decimal. Absent: 1.
   */
  unitPricePer?: string;
  /** package model */
  packageSize: string | null;
  packagePrice: string | null;
  description: string | null;
}

export interface PlanCreatedV1 {
  tenant: string;
  planId: string;
  name: string;
  /** ISO 4217 */
  currency: string;
  /** Absent in plans created before prices existed: no charges. */
  charges?: ChargeV1[];
  createdAt: string;
}

export interface PlanRevisedV1 {
  tenant: string;
  planId: string;
  /** 2, 3, … */
  version: number;
  /** The new prices apply to usage at or after this instant. */
  effectiveFrom: string;
  charges: ChargeV1[];
  revisedAt: string;
}

export const planStream = (tenant: string, planId: string): string => `plan-${tenant}_${planId}`;

export type PlanCreated = LedgerEvent<typeof planCreatedType, PlanCreatedV1>;
export type PlanRevised = LedgerEvent<typeof planRevisedType, PlanRevisedV1>;
export type PlanEvent = PlanCreated | PlanRevised;
export const isPlanEvent = eventsOf<PlanEvent>({ PlanCreated: true, PlanRevised: true });
