/**
 * Registry events, event-sourced in the ledger:
 *   `account-{tenant}_{id}`      AccountOpened and the account's subscriptions (the account is what keeps
 *                                 its subscriptions from overlapping, so they live in its stream);
 *   `subscription-{tenant}_{id}` SubscriptionIdClaimed: which account a subscription id belongs to;
 *   `subject-{tenant}_{key}`     SubjectAssigned / SubjectAssignmentCorrected: who owned the subject when.
 */
import type {
  AccountOpenedV1,
  SubscriptionCancelledV1,
  SubscriptionPlanChangedV1,
  SubscriptionRescheduledV1,
  SubscriptionStartedV1,
} from '@tally/contracts/accounts';

/** Published as AccountOpenedV1 (contracts/accounts): aggregation and invoicing read it. */
export interface AccountOpened {
  type: 'AccountOpened';
  data: AccountOpenedV1;
}

export interface SubscriptionStarted {
  type: 'SubscriptionStarted';
  data: SubscriptionStartedV1;
}

export interface SubscriptionCancelled {
  type: 'SubscriptionCancelled';
  data: SubscriptionCancelledV1;
}

export interface SubscriptionPlanChanged {
  type: 'SubscriptionPlanChanged';
  data: SubscriptionPlanChangedV1;
}

export interface SubscriptionRescheduled {
  type: 'SubscriptionRescheduled';
  data: SubscriptionRescheduledV1;
}

export type AccountEvent =
  AccountOpened | SubscriptionStarted | SubscriptionCancelled | SubscriptionPlanChanged | SubscriptionRescheduled;

export interface SubscriptionIdClaimed {
  type: 'SubscriptionIdClaimed';
  data: { tenant: string; subscriptionId: string; accountId: string };
}

export interface SubjectAssigned {
  type: 'SubjectAssigned';
  data: {
    tenant: string;
    subject: string;
    accountId: string;
    effectiveFrom: string;
    attributes: Record<string, string>;
    assignedAt: string;
  };
}

/** The subject belonged to `accountId` during [effectiveFrom, effectiveTo) after all (effectiveTo: until the next change). */
export interface SubjectAssignmentCorrected {
  type: 'SubjectAssignmentCorrected';
  data: {
    tenant: string;
    subject: string;
    accountId: string;
    effectiveFrom: string;
    effectiveTo: string | null;
    attributes: Record<string, string>;
    reason: string;
    correctedAt: string;
  };
}

export type SubjectEvent = SubjectAssigned | SubjectAssignmentCorrected;
export type RegistryEvent = AccountEvent | SubscriptionIdClaimed | SubjectEvent;

export const registryEventTypes: RegistryEvent['type'][] = [
  'AccountOpened',
  'SubscriptionStarted',
  'SubscriptionCancelled',
  'SubscriptionPlanChanged',
  'SubscriptionRescheduled',
  'SubscriptionIdClaimed',
  'SubjectAssigned',
  'SubjectAssignmentCorrected',
];

export { accountStream } from '@tally/contracts/accounts';
export const subscriptionStream = (tenant: string, subscriptionId: string): string =>
  `subscription-${tenant}_${subscriptionId}`;
export const subjectStream = (tenant: string, subject: string): string => `subject-${tenant}_${subject}`;
