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
 * `per`: the name of a subject attribute (e.g. "app"): usage is grouped by its value and each group gets
 * the allowance and the tiers on its own, as Forge's free tier is per app. Null: the charge applies to
 * the subscription's usage as a whole.
 */
export const chargeModels = ['unit', 'graduated', 'volume', 'package'] as const;
export type ChargeModel = (typeof chargeModels)[number];

export interface Tier {
  /** Inclusive upper bound of the tier in billable units; null = no bound (only the last tier). */
  upTo: string | null;
  unitPrice: string;
  /** Charged once when any unit falls in the tier; '0' when absent. */
  flatPrice: string;
}

export interface Charge {
  /** Meter slug (aggregation's meters). */
  meter: string;
  model: ChargeModel;
  /** Subject attribute the allowance and tiers apply to separately; null = the whole subscription. */
  per: string | null;
  /** Free quantity per billing period (per `per` group); '0' when absent. */
  allowance: string;
  /** unit model */
  unitPrice: string | null;
  /** graduated and volume models */
  tiers: Tier[] | null;
  /** package model */
  packageSize: string | null;
  packagePrice: string | null;
  description: string | null;
}

/** One priced line of one charge for one `per` group: traceable to meter, quantity, allowance, tier and unit price. */
export interface RatedLine {
  meter: string;
  model: ChargeModel;
  per: string | null;
  /** The group's value of the `per` attribute (null: the whole subscription, or usage without that attribute). */
  perValue: string | null;
  /** Measured quantity of the group in the period (segment). */
  quantity: string;
  /** Allowance taken off: min(quantity, allowance). */
  allowanceApplied: string;
  /** 1-based tier index for graduated/volume lines; null otherwise (and for a zero line). */
  tier: number | null;
  /** Units priced on this line (for package: the number of packages). */
  units: string;
  unitPrice: string;
  flatPrice: string;
  /** Precise amount, never rounded: units × unitPrice + flatPrice. */
  amount: string;
}

export interface FieldError {
  field: string;
  message: string;
}
