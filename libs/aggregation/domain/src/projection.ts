import { exactDivide } from '@tally/contracts/meters';
import { ExactDecimal } from '@tally/shared/util-core';
import type { MeterAggregation } from './meter';

/**
 * How a quantity measured over [from, asOf) is projected to the end of its interval [from, to) — what an
 * upcoming invoice's projected cost rates (docs/invoicing.md, "Projected cost"):
 *
 *   SUM, COUNT         the same rate for the rest of the interval: quantity × (to − from) ÷ (asOf − from)
 *   TIME_WEIGHTED_SUM  'levels': every subject's current level held to the end (the meter read with asOf = to)
 *   the others         as measured (a MIN, MAX, AVG, LATEST or UNIQUE_COUNT has no rate to carry on)
 *
 * Before the interval starts nothing is projected (the quantity, 0); once it has ended the quantity is final.
 * The division rounds once, at 40 places, when it does not end (value-expression.ts's rule).
 */
export const projectedQuantity = (
  aggregation: MeterAggregation,
  quantity: string,
  interval: { from: Date; to: Date },
  asOf: Date,
): string | 'levels' => {
  const elapsed = asOf.getTime() - interval.from.getTime();
  const length = interval.to.getTime() - interval.from.getTime();
  if (elapsed <= 0 || elapsed >= length) return quantity;
  switch (aggregation) {
    case 'SUM':
    case 'COUNT':
      return exactDivide(new ExactDecimal(quantity).times(length), new ExactDecimal(elapsed)).toFixed();
    case 'TIME_WEIGHTED_SUM':
      return 'levels';
    case 'MIN':
    case 'MAX':
    case 'AVG':
    case 'LATEST':
    case 'UNIQUE_COUNT':
      return quantity;
    default: {
      const _never: never = aggregation;
      throw new Error(`unknown aggregation ${String(_never)}`);
    }
  }
};
