import { eventsOf, LedgerEvent } from '@tally/shared/util-core';

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
  /** IANA time zone: billing periods are months in it. */
  timezone: string;
  /**
   * Day of the month billing periods start on (1–31; beyond a month's length: its last day), at 00:00 in
   * `timezone`. Absent in events written before it existed: 1, calendar months.
   */
  billingAnchorDay?: number;
  /**
   * BCP 47 locale, canonical (`Intl.getCanonicalLocales`): how the account's money and numbers are shown.
   * Absent in events written before it existed: en-US.
   */
  locale?: string;
  openedAt: string;
}

export const billingAnchorDayOf = (account: Pick<AccountOpenedV1, 'billingAnchorDay'>): number =>
  account.billingAnchorDay ?? 1;

export const defaultLocale = 'en-US';

export const localeOf = (account: Pick<AccountOpenedV1, 'locale'>): string => account.locale ?? defaultLocale;

/**
 * Subscriptions, published too: invoicing bills each subscription per period. They live in the account's
 * stream (the account keeps them from overlapping). Instants are UTC ISO texts; `endsAt` is exclusive.
 */
export const subscriptionStartedType = 'SubscriptionStarted';
export const subscriptionCancelledType = 'SubscriptionCancelled';
export const subscriptionPlanChangedType = 'SubscriptionPlanChanged';
export const subscriptionRescheduledType = 'SubscriptionRescheduled';

export interface SubscriptionStartedV1 {
  tenant: string;
  accountId: string;
  subscriptionId: string;
  planId: string;
  startsAt: string;
  endsAt: string | null;
  at: string;
}

export interface SubscriptionCancelledV1 {
  tenant: string;
  accountId: string;
  subscriptionId: string;
  endsAt: string;
  reason: string;
  at: string;
}

/** The subscription is on `planId` from `effectiveFrom` on (the past stays on the plan it was on). */
export interface SubscriptionPlanChangedV1 {
  tenant: string;
  accountId: string;
  subscriptionId: string;
  planId: string;
  effectiveFrom: string;
  at: string;
}

export interface SubscriptionRescheduledV1 {
  tenant: string;
  accountId: string;
  subscriptionId: string;
  startsAt: string;
  reason: string;
  at: string;
}

export const accountStream = (tenant: string, accountId: string): string => `account-${tenant}_${accountId}`;

/** The events of an account's stream that are published (the registry's own subject events stay in attribution). */
export type AccountOpened = LedgerEvent<typeof accountOpenedType, AccountOpenedV1>;
export type SubscriptionStarted = LedgerEvent<typeof subscriptionStartedType, SubscriptionStartedV1>;
export type SubscriptionCancelled = LedgerEvent<typeof subscriptionCancelledType, SubscriptionCancelledV1>;
export type SubscriptionPlanChanged = LedgerEvent<typeof subscriptionPlanChangedType, SubscriptionPlanChangedV1>;
export type SubscriptionRescheduled = LedgerEvent<typeof subscriptionRescheduledType, SubscriptionRescheduledV1>;
export type SubscriptionEvent =
  SubscriptionStarted | SubscriptionCancelled | SubscriptionPlanChanged | SubscriptionRescheduled;
export type AccountEvent = AccountOpened | SubscriptionEvent;
export const isAccountEvent = eventsOf<AccountEvent>({
  AccountOpened: true,
  SubscriptionStarted: true,
  SubscriptionCancelled: true,
  SubscriptionPlanChanged: true,
  SubscriptionRescheduled: true,
});
