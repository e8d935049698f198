import { ExactDecimal } from '@tally/shared/util-core';
import type { Charge, RatedLine, Tier } from './charge';
import { canonicalDecimal } from './money';

/** One group's measured quantity of one meter in a period, as aggregation reports it. */
export interface UsageRow {
  meter: string;
  /** The group's value of the charge's `per` attribute; null for the whole subscription. */
  perValue: string | null;
  quantity: string;
}

/** What one line prices: the rest of a RatedLine is the same for every line of a charge and group. */
interface Pricing {
  tier: number | null;
  units: ExactDecimal;
  unitPrice: string;
  flatPrice: string;
}

const zero = new ExactDecimal(0);

/**
 * Rates one group's quantity under one charge (the rules are in charge.ts). Never rounds: amounts are exact.
 * Always at least one line, so an invoice shows the usage that the allowance covered.
 */
export const rateCharge = (charge: Charge, quantity: string, perValue: string | null): RatedLine[] => {
  const measured = new ExactDecimal(quantity);
  const allowance = new ExactDecimal(charge.allowance);
  // A meter SUM can be negative (corrections): that is no credit, and takes nothing off the allowance.
  const allowanceApplied = ExactDecimal.max(zero, ExactDecimal.min(measured, allowance));
  const billable = ExactDecimal.max(zero, measured.minus(allowance));
  const priced = billable.isZero() ? [uncharged(charge)] : price(charge, billable);
  const per = charge.model === 'package' ? '1' : (charge.unitPricePer ?? '1');
  return priced.map(({ tier, units, unitPrice, flatPrice }) => ({
    meter: charge.meter,
    model: charge.model,
    per: charge.per,
    perValue,
    quantity: canonicalDecimal(measured),
    allowanceApplied: canonicalDecimal(allowanceApplied),
    tier,
    units: canonicalDecimal(units),
    // A price per N units becomes the price of one: N is a power of ten (charge.validation.ts), so ÷ N is exact,
    // and a reader that multiplies units by unitPrice gets the amount whether or not it knows quotedPrice.
    unitPrice: canonicalDecimal(new ExactDecimal(unitPrice).dividedBy(per)),
    ...(per !== '1' && { quotedPrice: { price: canonicalDecimal(unitPrice), per } }),
    flatPrice: canonicalDecimal(flatPrice),
    amount: canonicalDecimal(new ExactDecimal(unitPrice).dividedBy(per).times(units).plus(flatPrice)),
  }));
};

/**
 * Rates a period's usage under a plan's charges. A charge's rows must already be grouped by its `per`
 * attribute, one row per group; rows of meters the plan does not charge are ignored. Lines come in charge
 * order, then by group (null first, then by perValue), then by tier.
 */
export const rateUsage = (charges: readonly Charge[], usage: readonly UsageRow[]): RatedLine[] =>
  charges.flatMap((charge) => {
    const rows = usage.filter((row) => row.meter === charge.meter);
    // A charge without usage still shows on the invoice, at zero.
    if (rows.length === 0) return rateCharge(charge, '0', null);
    assertOneRowPerGroup(charge, rows);
    return [...rows].sort(byPerValue).flatMap((row) => rateCharge(charge, row.quantity, row.perValue));
  });

const price = (charge: Charge, billable: ExactDecimal): Pricing[] => {
  switch (charge.model) {
    case 'unit':
      return [
        { tier: null, units: billable, unitPrice: required(charge, 'unitPrice', charge.unitPrice), flatPrice: '0' },
      ];
    case 'graduated':
      return graduated(required(charge, 'tiers', charge.tiers), billable);
    case 'volume':
      return [volume(required(charge, 'tiers', charge.tiers), billable)];
    case 'package':
      return [packaged(charge, billable)];
    default: {
      const _never: never = charge.model;
      throw new Error(`unknown charge model ${String(_never)}`);
    }
  }
};

/** Tier i holds the billable units in (previous upTo, upTo]; a tier no unit reaches gets no line (and no flat fee). */
const graduated = (tiers: readonly Tier[], billable: ExactDecimal): Pricing[] => {
  const lines: Pricing[] = [];
  let lower = zero;
  for (const [index, tier] of tiers.entries()) {
    if (billable.lte(lower)) break;
    const upper = tier.upTo === null ? billable : ExactDecimal.min(billable, tier.upTo);
    lines.push({ tier: index + 1, units: upper.minus(lower), unitPrice: tier.unitPrice, flatPrice: tier.flatPrice });
    if (tier.upTo === null) break;
    lower = new ExactDecimal(tier.upTo);
  }
  return lines;
};

/** Every billable unit at the price of the first tier whose upTo reaches the billable quantity (upTo is inclusive). */
const volume = (tiers: readonly Tier[], billable: ExactDecimal): Pricing => {
  const index = tiers.findIndex((tier) => tier.upTo === null || billable.lte(tier.upTo));
  if (index < 0) throw new Error('volume tiers must end with an unbounded tier (upTo null)');
  const tier = tiers[index];
  return { tier: index + 1, units: billable, unitPrice: tier.unitPrice, flatPrice: tier.flatPrice };
};

/** Started packages are paid in full: ceil(billable / packageSize). */
const packaged = (charge: Charge, billable: ExactDecimal): Pricing => {
  const size = required(charge, 'packageSize', charge.packageSize);
  // divToInt then a multiply is exact; ceil of a division rounded to the context's precision might not be.
  const whole = billable.divToInt(size);
  const packages = whole.times(size).lt(billable) ? whole.plus(1) : whole;
  return {
    tier: null,
    units: packages,
    unitPrice: required(charge, 'packagePrice', charge.packagePrice),
    flatPrice: '0',
  };
};

/** The single line of a group with nothing to pay: priced at the model's first price so the line still reads sensibly. */
const uncharged = (charge: Charge): Pricing => ({
  tier: null,
  units: zero,
  unitPrice: firstPrice(charge),
  flatPrice: '0',
});

const firstPrice = (charge: Charge): string => {
  switch (charge.model) {
    case 'unit':
      return required(charge, 'unitPrice', charge.unitPrice);
    case 'graduated':
    case 'volume': {
      const [first] = required(charge, 'tiers', charge.tiers);
      return required(charge, 'tiers', first).unitPrice;
    }
    case 'package':
      return required(charge, 'packagePrice', charge.packagePrice);
    default: {
      const _never: never = charge.model;
      throw new Error(`unknown charge model ${String(_never)}`);
    }
  }
};

// Charges reach rating through validateCharges, so a missing price is a programming error, not bad input.
const required = <T>(charge: Charge, field: string, value: T | null | undefined): T => {
  if (value === null || value === undefined)
    throw new Error(`charge on meter ${charge.meter}: a ${charge.model} charge needs ${field}`);
  return value;
};

// Two rows for one group would each get the allowance and restart the tiers; summing them is no fix either
// (a MAX or UNIQUE_COUNT meter does not add up), so the caller must aggregate per group first.
const assertOneRowPerGroup = (charge: Charge, rows: readonly UsageRow[]): void => {
  const seen = new Set<string | null>();
  for (const { perValue } of rows) {
    if (charge.per === null && perValue !== null) {
      throw new Error(
        `charge on meter ${charge.meter} applies to the whole subscription: its usage has no perValue (got ${perValue})`,
      );
    }
    if (seen.has(perValue))
      throw new Error(
        `usage of meter ${charge.meter} has two rows for perValue ${perValue}: aggregate per group before rating`,
      );
    seen.add(perValue);
  }
};

// null (the whole subscription) first, then by perValue in code-unit order: stable across locales.
const byPerValue = (a: UsageRow, b: UsageRow): number => {
  if (a.perValue === b.perValue) return 0;
  if (a.perValue === null) return -1;
  if (b.perValue === null) return 1;
  return a.perValue < b.perValue ? -1 : 1;
};
