import type {
  SubscriptionCancelledV1,
  SubscriptionPlanChangedV1,
  SubscriptionRescheduledV1,
  SubscriptionStartedV1,
} from '@tally/contracts/accounts';
import type { LedgerEvent } from '@tally/shared/util-core';
import type { SubscriptionTimeline } from './plan-segments';

/** The published subscription events (contracts/accounts), as far as billing needs them. */
export type SubscriptionEventLike =
  | LedgerEvent<'SubscriptionStarted', Pick<SubscriptionStartedV1, 'subscriptionId' | 'planId' | 'startsAt' | 'endsAt'>>
  | LedgerEvent<'SubscriptionCancelled', Pick<SubscriptionCancelledV1, 'subscriptionId' | 'endsAt'>>
  | LedgerEvent<
      'SubscriptionPlanChanged',
      Pick<SubscriptionPlanChangedV1, 'subscriptionId' | 'planId' | 'effectiveFrom'>
    >
  | LedgerEvent<'SubscriptionRescheduled', Pick<SubscriptionRescheduledV1, 'subscriptionId' | 'startsAt'>>;

/** An account's subscriptions after one more registry event (attribution's decider already validated it). */
export const evolveTimelines = (
  subscriptions: readonly SubscriptionTimeline[],
  event: SubscriptionEventLike,
): SubscriptionTimeline[] => {
  const update = (id: string, change: (s: SubscriptionTimeline) => SubscriptionTimeline) =>
    subscriptions.map((s) => (s.subscriptionId === id ? change(s) : s));
  switch (event.type) {
    case 'SubscriptionStarted': {
      const { subscriptionId, planId, startsAt, endsAt } = event.data;
      if (subscriptions.some((s) => s.subscriptionId === subscriptionId)) return [...subscriptions];
      return [...subscriptions, { subscriptionId, startsAt, endsAt, plans: [{ planId, from: startsAt }] }];
    }
    case 'SubscriptionCancelled':
      return update(event.data.subscriptionId, (s) => ({ ...s, endsAt: event.data.endsAt }));
    case 'SubscriptionPlanChanged':
      return update(event.data.subscriptionId, (s) => ({
        ...s,
        plans: [
          ...s.plans.filter((p) => p.from !== event.data.effectiveFrom),
          { planId: event.data.planId, from: event.data.effectiveFrom },
        ].sort((a, b) => Date.parse(a.from) - Date.parse(b.from)),
      }));
    case 'SubscriptionRescheduled':
      return update(event.data.subscriptionId, (s) => ({
        ...s,
        startsAt: event.data.startsAt,
        plans: [{ ...s.plans[0], from: event.data.startsAt }, ...s.plans.slice(1)],
      }));
    default:
      return [...subscriptions];
  }
};
