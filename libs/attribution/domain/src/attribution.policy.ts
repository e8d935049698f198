import { Attribution } from '@tally/contracts/usage';
import { ownerAt, SubjectTimeline } from './subject-timeline';
import { planAt, Subscription, subscriptionAt } from './subscriptions';

/**
 * Temporal attribution: the account that held the subject at the event's own time, through the
 * subscription running then, on the plan in force then, with the subject's attributes then.
 * Anything missing parks the event with the reason; nothing is guessed.
 */
export const attribute = (
  eventTime: Date | string,
  timeline: SubjectTimeline,
  subscriptionsOf: (accountId: string) => readonly Subscription[],
): Attribution => {
  if (timeline.length === 0) return { status: 'parked', reason: 'unknown_subject' };
  const owner = ownerAt(timeline, eventTime);
  if (!owner) return { status: 'parked', reason: 'no_owner_at_time' };
  const subscription = subscriptionAt(subscriptionsOf(owner.accountId), eventTime);
  if (!subscription) return { status: 'parked', reason: 'no_subscription' };
  return {
    status: 'attributed',
    accountId: owner.accountId,
    subscriptionId: subscription.subscriptionId,
    planId: planAt(subscription, eventTime),
    attributes: owner.attributes,
  };
};
