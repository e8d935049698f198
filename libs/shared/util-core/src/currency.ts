const currencyPattern = /^[A-Z]{3}$/;
let supportedCurrencies: ReadonlySet<string> | undefined;

/**
 * An ISO 4217 code that this runtime's Intl knows — the one currency rule for accounts, plans and invoices (an
 * account in a currency no plan may use could never subscribe). Intl.NumberFormat accepts any three letters (it
 * would format "XYZ" with 2 decimals), so the check is against Intl's list of supported currencies.
 */
export const isCurrency = (code: string): boolean =>
  currencyPattern.test(code) && (supportedCurrencies ??= new Set(Intl.supportedValuesOf('currency'))).has(code);
