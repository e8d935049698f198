/**
 * Numbers as the API answers them: exact decimal strings. Intl.NumberFormat formats a decimal string without
 * turning it into a float first (ECMA-402 2023), so 0.00275 USD shows every digit.
 */
type Decimal = `${number}`;

const decimal = (value: string) => value as Decimal;

/** A quantity with the locale's grouping: 250000 → 250,000; every fractional digit kept. */
export const formatQuantity = (value: string, locale?: string) =>
  new Intl.NumberFormat(locale, { maximumFractionDigits: 20 }).format(decimal(value));

/**
 * An amount in its currency: at least the currency's minor unit (USD 2.5 → $2.50), and every further digit
 * a line's precise amount has (0.00275 → $0.00275). Totals arrive rounded already.
 */
export const formatMoney = (value: string, currency: string, locale?: string) => {
  const minor =
    new Intl.NumberFormat(locale, { style: 'currency', currency }).resolvedOptions().minimumFractionDigits ?? 2;
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: minor,
    maximumFractionDigits: 20,
  }).format(decimal(value));
};

/** An instant in a time zone, e.g. "Jan 5, 2026, 02:03 PM UTC" (dateStyle cannot be combined with a zone name). */
export const formatInstant = (iso: string, timeZone?: string, locale?: string) =>
  new Intl.DateTimeFormat(locale, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZone,
    timeZoneName: 'short',
  }).format(new Date(iso));

/**
 * The locale an account's amounts, quantities and times are shown in: the account's own (BCP 47, `en-US` for
 * accounts opened before locales existed), whoever looks at it. The one place that decides it.
 */
export const localeOf = (account: { locale: string }): string => account.locale;
