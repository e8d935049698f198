import Decimal from 'decimal.js';

/**
 * decimal.js rounds every operation to 20 significant digits by default: 12345678901234567890 + 0.1 would
 * lose the 0.1. Tally's arithmetic on quantities uses this clone, exact to 1,000 significant digits.
 */
export const ExactDecimal = Decimal.clone({ precision: 1_000, rounding: Decimal.ROUND_HALF_UP });
export type ExactDecimal = InstanceType<typeof ExactDecimal>;
