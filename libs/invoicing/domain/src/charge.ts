import type { UsageLineV1 } from '@tally/contracts/invoices';
import type { ChargeV1, TierV1 } from '@tally/contracts/plans';
import type { FieldError } from '@tally/shared/util-core';
/**
 * Price plan charges: how one meter's usage in a billing period turns into money. All quantities and
 * prices are decimal strings (never JS numbers); arithmetic is ExactDecimal's.
 *
 *   unit       billable × unitPrice
 *   graduated  billable split over the tiers, each part at its tier's unitPrice (+ the tier's flatPrice
 *              once when any unit falls in it)
 *   volume     all billable units at the unitPrice of the tier the billable quantity falls in (+ its flatPrice)
 *   package    ceil(billable / packageSize) packages × packagePrice
 *
 * billable = max(0, quantity − allowance): the free allowance is taken off first, then the model applies.
 * Tiers: `upTo` is inclusive (a quantity equal to upTo is in that tier), the last tier's upTo is null (∞).
 * Zero billable units cost nothing under every model (no flat fee for an unused tier).
 * unitPricePer (unit, graduated, volume): a price for that many units — "1.929" per "1000000" requests; a power
 * of ten, so the price of one unit (1.929 ÷ 1000000) is exact. Lines price per unit (units × unitPrice, as every
 * line) and carry the price as quoted (`quotedPrice: {price: "1.929", per: "1000000"}`) to show it as such.
 * `per`: the name of a subject attribute (e.g. "app"): usage is grouped by its value and each group gets
 * the allowance and the tiers on its own, as Forge's free tier is per app. Null: the charge applies to
 * the subscription's usage as a whole.
 */
export const chargeModels = ['unit', 'graduated', 'volume', 'package'] as const;
export type ChargeModel = (typeof chargeModels)[number];

/** The published shapes (contracts), named here. */
export type Tier = TierV1;
export type Charge = ChargeV1;

/** A line as rating produces it; the invoice adds its kind and plan segment (UsageLineV1). */
export type RatedLine = Omit<UsageLineV1, 'kind' | 'segment'>;

export type { FieldError };
