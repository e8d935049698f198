/**
 * Accounts as the published language: attribution owns the registry; aggregation and invoicing need
 * an account's time zone (its billing periods are cut in it) and currency. Stream `account-{tenant}_{id}`.
 */
export const accountOpenedType = 'AccountOpened';

export interface AccountOpenedV1 {
  tenant: string;
  accountId: string;
  name: string;
  /** ISO 4217 */
  currency: string;
  /** IANA time zone: billing periods are calendar months in it. */
  timezone: string;
  openedAt: string;
}
