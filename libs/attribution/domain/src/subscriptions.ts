import { AccountEvent } from './registry.events';

/** A subscription as attribution needs it: when it runs and which plan applies when. */
export interface Subscription {
  subscriptionId: string;
  startsAt: string;
  /** Exclusive; null = open-ended. */
  endsAt: string | null;
  /** Plan in force from each instant on, ordered; the first starts at startsAt. */
  plans: { planId: string; from: string }[];
}

const ms = (iso: string) => Date.parse(iso);

export const coversInstant = (s: Pick<Subscription, 'startsAt' | 'endsAt'>, t: number): boolean =>
  ms(s.startsAt) <= t && (s.endsAt === null || t < ms(s.endsAt));

/** The subscription running at an instant (subscriptions of one account never overlap). */
export const subscriptionAt = (
  subscriptions: readonly Subscription[],
  instant: Date | string,
): Subscription | undefined => {
  const t = typeof instant === 'string' ? ms(instant) : instant.getTime();
  return subscriptions.find((s) => coversInstant(s, t));
};

export const planAt = (subscription: Subscription, instant: Date | string): string => {
  const t = typeof instant === 'string' ? ms(instant) : instant.getTime();
  let planId = subscription.plans[0].planId;
  for (const p of subscription.plans) if (ms(p.from) <= t) planId = p.planId;
  return planId;
};

/** Two [start, end) intervals overlap (null end = forever). */
export const overlaps = (
  a: Pick<Subscription, 'startsAt' | 'endsAt'>,
  b: Pick<Subscription, 'startsAt' | 'endsAt'>,
): boolean =>
  ms(a.startsAt) < (b.endsAt === null ? Infinity : ms(b.endsAt)) &&
  ms(b.startsAt) < (a.endsAt === null ? Infinity : ms(a.endsAt));

export const evolveSubscriptions = (subscriptions: Subscription[], event: AccountEvent): Subscription[] => {
  const update = (id: string, change: (s: Subscription) => Subscription) =>
    subscriptions.map((s) => (s.subscriptionId === id ? change(s) : s));
  switch (event.type) {
    case 'AccountOpened':
      return subscriptions;
    case 'SubscriptionStarted': {
      const { subscriptionId, planId, startsAt, endsAt } = event.data;
      return [...subscriptions, { subscriptionId, startsAt, endsAt, plans: [{ planId, from: startsAt }] }];
    }
    case 'SubscriptionCancelled':
      return update(event.data.subscriptionId, (s) => ({ ...s, endsAt: event.data.endsAt }));
    case 'SubscriptionPlanChanged':
      return update(event.data.subscriptionId, (s) => ({
        ...s,
        plans: [...s.plans, { planId: event.data.planId, from: event.data.effectiveFrom }],
      }));
    case 'SubscriptionRescheduled':
      return update(event.data.subscriptionId, (s) => ({
        ...s,
        startsAt: event.data.startsAt,
        plans: [{ ...s.plans[0], from: event.data.startsAt }, ...s.plans.slice(1)],
      }));
    default: {
      const _never: never = event;
      return subscriptions;
    }
  }
};
