import { StreamDecider } from '@tally/shared/util-core';
import { isSubscriptionIdClaimed, SubscriptionIdClaimed } from './registry.events';
import { refuse } from './errors';

/** Which account a subscription id belongs to (`subscription-{tenant}_{id}`): ids are unique in a tenant. */
export type SubscriptionClaim = { accountId: string } | null;

export interface ClaimSubscriptionId {
  tenant: string;
  subscriptionId: string;
  accountId: string;
}

/** The first account to claim an id keeps it; claiming it again for the same account is a no-op. */
export const subscriptionClaimDecider: StreamDecider<ClaimSubscriptionId, SubscriptionIdClaimed, SubscriptionClaim> = {
  initialState: () => null,
  evolve: (state, event) => state ?? { accountId: event.data.accountId },
  decide: (command, claim) => {
    if (claim?.accountId === command.accountId) return [];
    if (claim)
      refuse('subscription_exists', `subscription id ${command.subscriptionId} belongs to another account`, 'id');
    return [{ type: 'SubscriptionIdClaimed', data: { ...command } }];
  },
  events: isSubscriptionIdClaimed,
};
