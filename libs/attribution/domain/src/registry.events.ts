/**
 * Registry events, event-sourced in the ledger:
 *   `account-{tenant}_{id}`      AccountOpened and the account's subscriptions (the account is what keeps
 *                                 its subscriptions from overlapping, so they live in its stream);
 *   `subscription-{tenant}_{id}` SubscriptionIdClaimed: which account a subscription id belongs to;
 *   `subject-{tenant}_{key}`     SubjectAssigned / SubjectAssignmentCorrected: who owned the subject when.
 */
import {
  AccountEvent,
  AccountOpened,
  isAccountEvent,
  SubscriptionCancelled,
  SubscriptionPlanChanged,
  SubscriptionRescheduled,
  SubscriptionStarted,
} from '@tally/contracts/accounts';
import { eventsOf, LedgerEvent } from '@tally/shared/util-core';

/** An account's stream is published as it is (contracts/accounts): aggregation and invoicing read it. */
export type {
  AccountEvent,
  AccountOpened,
  SubscriptionCancelled,
  SubscriptionPlanChanged,
  SubscriptionRescheduled,
  SubscriptionStarted,
};
export { isAccountEvent };

export type SubscriptionIdClaimed = LedgerEvent<
  'SubscriptionIdClaimed',
  { tenant: string; subscriptionId: string; accountId: string }
>;
export const isSubscriptionIdClaimed = eventsOf<SubscriptionIdClaimed>({ SubscriptionIdClaimed: true });

export type SubjectAssigned = LedgerEvent<
  'SubjectAssigned',
  {
    tenant: string;
    subject: string;
    accountId: string;
    effectiveFrom: string;
    attributes: Record<string, string>;
    assignedAt: string;
  }
>;

/** The subject belonged to `accountId` during [effectiveFrom, effectiveTo) after all (effectiveTo: until the next change). */
export type SubjectAssignmentCorrected = LedgerEvent<
  'SubjectAssignmentCorrected',
  {
    tenant: string;
    subject: string;
    accountId: string;
    effectiveFrom: string;
    effectiveTo: string | null;
    attributes: Record<string, string>;
    reason: string;
    correctedAt: string;
  }
>;

export type SubjectEvent = SubjectAssigned | SubjectAssignmentCorrected;
export type RegistryEvent = AccountEvent | SubscriptionIdClaimed | SubjectEvent;

export const isSubjectEvent = eventsOf<SubjectEvent>({ SubjectAssigned: true, SubjectAssignmentCorrected: true });
export const isRegistryEvent = eventsOf<RegistryEvent>({
  AccountOpened: true,
  SubscriptionStarted: true,
  SubscriptionCancelled: true,
  SubscriptionPlanChanged: true,
  SubscriptionRescheduled: true,
  SubscriptionIdClaimed: true,
  SubjectAssigned: true,
  SubjectAssignmentCorrected: true,
});
export const registryEventTypes = isRegistryEvent.types;

export { accountStream } from '@tally/contracts/accounts';
export const subscriptionStream = (tenant: string, subscriptionId: string): string =>
  `subscription-${tenant}_${subscriptionId}`;
export const subjectStream = (tenant: string, subject: string): string => `subject-${tenant}_${subject}`;
