import { describe, expect, it } from 'vitest';
import type { SubscriptionTimeline } from './plan-segments';
import type { SubscriptionEventLike } from './subscription-timeline';
import { evolveTimelines } from './subscription-timeline';

const oct1 = '2026-10-01T00:00:00.000Z';
const nov1 = '2026-11-01T00:00:00.000Z';
const nov16 = '2026-11-16T00:00:00.000Z';
const dec1 = '2026-12-01T00:00:00.000Z';

const started = (
  subscriptionId: string,
  planId: string,
  startsAt: string,
  endsAt: string | null = null,
): SubscriptionEventLike => ({
  type: 'SubscriptionStarted',
  data: { subscriptionId, planId, startsAt, endsAt },
});
const cancelled = (subscriptionId: string, endsAt: string): SubscriptionEventLike => ({
  type: 'SubscriptionCancelled',
  data: { subscriptionId, endsAt },
});
const planChanged = (subscriptionId: string, planId: string, effectiveFrom: string): SubscriptionEventLike => ({
  type: 'SubscriptionPlanChanged',
  data: { subscriptionId, planId, effectiveFrom },
});
const rescheduled = (subscriptionId: string, startsAt: string): SubscriptionEventLike => ({
  type: 'SubscriptionRescheduled',
  data: { subscriptionId, startsAt },
});

/** Given these events folded from nothing. */
const given = (...events: SubscriptionEventLike[]): SubscriptionTimeline[] =>
  events.reduce(evolveTimelines, [] as SubscriptionTimeline[]);

const basicFromOct: SubscriptionTimeline = {
  subscriptionId: 'sub-1',
  startsAt: oct1,
  endsAt: null,
  plans: [{ planId: 'basic', from: oct1 }],
};

describe('evolveTimelines', () => {
  describe('SubscriptionStarted', () => {
    it('adds the subscription on its plan from its start', () =>
      expect(given(started('sub-1', 'basic', oct1))).toEqual([basicFromOct]));

    it('keeps a fixed end', () =>
      expect(given(started('sub-1', 'basic', oct1, dec1))).toEqual([{ ...basicFromOct, endsAt: dec1 }]));

    it('adds a second subscription next to the first, in arrival order', () =>
      expect(given(started('sub-1', 'basic', oct1), started('sub-2', 'pro', nov1))).toEqual([
        basicFromOct,
        { subscriptionId: 'sub-2', startsAt: nov1, endsAt: null, plans: [{ planId: 'pro', from: nov1 }] },
      ]));

    it('started twice (a redelivery) is idempotent: the first one stands', () => {
      expect(given(started('sub-1', 'basic', oct1), started('sub-1', 'basic', oct1))).toEqual([basicFromOct]);
      // even a differing repeat changes nothing: the registry already validated the first one
      expect(given(started('sub-1', 'basic', oct1), started('sub-1', 'pro', nov1))).toEqual([basicFromOct]);
    });
  });

  describe('SubscriptionCancelled', () => {
    it('sets the (exclusive) end', () =>
      expect(given(started('sub-1', 'basic', oct1), cancelled('sub-1', nov16))).toEqual([
        { ...basicFromOct, endsAt: nov16 },
      ]));

    it('a later cancellation moves the end again', () =>
      expect(given(started('sub-1', 'basic', oct1), cancelled('sub-1', nov16), cancelled('sub-1', dec1))).toEqual([
        { ...basicFromOct, endsAt: dec1 },
      ]));

    it('touches only its own subscription', () =>
      expect(given(started('sub-1', 'basic', oct1), started('sub-2', 'pro', oct1), cancelled('sub-2', nov16))).toEqual([
        basicFromOct,
        { subscriptionId: 'sub-2', startsAt: oct1, endsAt: nov16, plans: [{ planId: 'pro', from: oct1 }] },
      ]));

    it('of an unknown subscription changes nothing', () =>
      expect(given(started('sub-1', 'basic', oct1), cancelled('sub-9', nov16))).toEqual([basicFromOct]));
  });

  describe('SubscriptionPlanChanged', () => {
    it('adds the plan from its effective instant on', () =>
      expect(given(started('sub-1', 'basic', oct1), planChanged('sub-1', 'pro', nov16)).map((s) => s.plans)).toEqual([
        [
          { planId: 'basic', from: oct1 },
          { planId: 'pro', from: nov16 },
        ],
      ]));

    it('keeps the plans sorted by from, whatever order the changes arrive in', () =>
      // a backdated change (1 Nov) arrives after one for the 16th
      expect(
        given(
          started('sub-1', 'basic', oct1),
          planChanged('sub-1', 'pro', nov16),
          planChanged('sub-1', 'plus', nov1),
        ).map((s) => s.plans),
      ).toEqual([
        [
          { planId: 'basic', from: oct1 },
          { planId: 'plus', from: nov1 },
          { planId: 'pro', from: nov16 },
        ],
      ]));

    it('a second change at the same instant replaces the first', () =>
      expect(
        given(
          started('sub-1', 'basic', oct1),
          planChanged('sub-1', 'pro', nov16),
          planChanged('sub-1', 'plus', nov16),
        ).map((s) => s.plans),
      ).toEqual([
        [
          { planId: 'basic', from: oct1 },
          { planId: 'plus', from: nov16 },
        ],
      ]));

    it('a change at the start instant replaces the starting plan', () =>
      expect(given(started('sub-1', 'basic', oct1), planChanged('sub-1', 'pro', oct1)).map((s) => s.plans)).toEqual([
        [{ planId: 'pro', from: oct1 }],
      ]));

    it('keeps start and end', () =>
      expect(given(started('sub-1', 'basic', oct1, dec1), planChanged('sub-1', 'pro', nov16))[0]).toMatchObject({
        startsAt: oct1,
        endsAt: dec1,
      }));

    it('does not mutate the timelines it was given', () => {
      const before = given(started('sub-1', 'basic', oct1));
      const snapshot = structuredClone(before);
      evolveTimelines(before, planChanged('sub-1', 'pro', nov16));
      expect(before).toEqual(snapshot);
    });
  });

  describe('SubscriptionRescheduled', () => {
    it('moves the start and the first plan with it', () =>
      expect(given(started('sub-1', 'basic', oct1), rescheduled('sub-1', nov1))).toEqual([
        { subscriptionId: 'sub-1', startsAt: nov1, endsAt: null, plans: [{ planId: 'basic', from: nov1 }] },
      ]));

    it('keeps later plan changes where they are', () =>
      expect(
        given(started('sub-1', 'basic', oct1), planChanged('sub-1', 'pro', nov16), rescheduled('sub-1', nov1)),
      ).toEqual([
        {
          subscriptionId: 'sub-1',
          startsAt: nov1,
          endsAt: null,
          plans: [
            { planId: 'basic', from: nov1 },
            { planId: 'pro', from: nov16 },
          ],
        },
      ]));
  });

  it('an event of another kind changes nothing', () =>
    expect(
      evolveTimelines([basicFromOct], { type: 'SubscriptionPaused', data: {} } as unknown as SubscriptionEventLike),
    ).toEqual([basicFromOct]));
});
