import { ExactDecimal, isCurrency } from '@tally/shared/util-core';

// The one currency rule lives in util-core (accounts use it too); invoicing's callers import it from here.
export { isCurrency };

/**
 * Money and decimal text. Amounts travel as decimal strings and are computed with ExactDecimal; this file is
 * the only place that rounds money, and it rounds exactly once, at the invoice total.
 */

/**
 * ISO 4217 minor units that are not 2 (ISO 4217 list one, amendment 176). Not Intl's: ICU formats by CLDR's
 * display digits (IQD 0, HUF 0 — ISO says 3 and 2), which also change with the Node version; a total must not.
 */
const minorUnitsNotTwo: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/** Digits of the currency's ISO 4217 minor unit: USD 2, JPY 0, KWD 3. */
export const minorUnits = (currency: string): number => {
  if (!isCurrency(currency)) throw new RangeError(`${currency} is not an ISO 4217 currency code`);
  return minorUnitsNotTwo[currency] ?? 2;
};

/**
 * Canonical text of a decimal: plain notation (no exponent), no trailing zeros, "0" for zero (never "-0").
 * Equal values always give equal text, so lines and totals compare and hash as strings.
 */
export const canonicalDecimal = (value: string | ExactDecimal): string =>
  withoutNegativeZero(trimFraction(new ExactDecimal(value).toFixed()));

/**
 * Rounds half-even (banker's rounding) to the currency's minor unit; the text has exactly that many decimals.
 * Half-even, because rounding every half up would bias a ledger of many invoices upwards.
 */
export const roundMoney = (amount: string, currency: string): string =>
  withoutNegativeZero(new ExactDecimal(amount).toFixed(minorUnits(currency), ExactDecimal.ROUND_HALF_EVEN));

/** The exact sum of decimal texts, in canonical text. */
export const sumAmounts = (amounts: readonly string[]): string =>
  canonicalDecimal(amounts.reduce((sum, amount) => sum.plus(amount), new ExactDecimal(0)));

/**
 * The invoice total is the sum of the precise line amounts, rounded once, half-even, to the currency's minor
 * unit; lines are never rounded. (Rounding each line first would let 1,000 lines of 0.004 total 0.00 instead of 4.00.)
 */
export const invoiceTotal = (lineAmounts: readonly string[], currency: string): string =>
  roundMoney(sumAmounts(lineAmounts), currency);

// decimal.js already drops trailing zeros from toFixed() without arguments; trimmed again so the canonical form
// does not depend on that detail of the library.
const trimFraction = (text: string): string => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

// A negative amount that rounds to zero ("-0.004" → "-0.00") is no debt: always print zero unsigned.
const withoutNegativeZero = (text: string): string => (/^-[0.]+$/.test(text) ? text.slice(1) : text);
