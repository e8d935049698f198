import { describe, expect, it } from 'vitest';
import type { PlanHistory, PlanSegment, SubscriptionTimeline } from './plan-segments';
import { planSegments, versionAt } from './plan-segments';

// November 2026 in UTC: [1 Nov, 1 Dec). Instants are written as toISOString() gives them, so segments compare as text.
const period = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };
const oct20 = '2026-10-20T00:00:00.000Z';
const nov10 = '2026-11-10T00:00:00.000Z';
const nov16 = '2026-11-16T00:00:00.000Z';
const nov20 = '2026-11-20T00:00:00.000Z';
const dec15 = '2026-12-15T00:00:00.000Z';

const history = (planId: string, ...effectiveFrom: string[]): PlanHistory => ({
  planId,
  currency: 'EUR',
  versions: [
    { version: 1, effectiveFrom: null, charges: [] },
    ...effectiveFrom.map((from, i) => ({ version: i + 2, effectiveFrom: from, charges: [] })),
  ],
});
const catalog = (...plans: PlanHistory[]): ReadonlyMap<string, PlanHistory> => new Map(plans.map((p) => [p.planId, p]));

const subscription = (fields: Partial<SubscriptionTimeline> = {}): SubscriptionTimeline => ({
  subscriptionId: 'sub-1',
  startsAt: oct20,
  endsAt: null,
  plans: [{ planId: 'basic', from: fields.startsAt ?? oct20 }],
  ...fields,
});
const segment = (from: string, to: string, planId = 'basic', planVersion = 1): PlanSegment => ({
  from,
  to,
  planId,
  planVersion,
});

describe('planSegments', () => {
  describe('where the subscription is active in the period', () => {
    it.each([
      // started in October, open-ended: the whole of November, one segment
      { name: 'covers the whole period', sub: subscription(), segments: [segment(period.start, period.end)] },
      // ends after the period: still cut at the period's end
      {
        name: 'ends after the period',
        sub: subscription({ endsAt: dec15 }),
        segments: [segment(period.start, period.end)],
      },
      // starts on the 16th: [16 Nov, 1 Dec)
      { name: 'starts mid-period', sub: subscription({ startsAt: nov16 }), segments: [segment(nov16, period.end)] },
      // cancelled for the 16th (exclusive): [1 Nov, 16 Nov)
      { name: 'ends mid-period', sub: subscription({ endsAt: nov16 }), segments: [segment(period.start, nov16)] },
      // [10 Nov, 20 Nov): cut on both sides
      {
        name: 'starts and ends inside the period',
        sub: subscription({ startsAt: nov10, endsAt: nov20 }),
        segments: [segment(nov10, nov20)],
      },
      // starts exactly at the period start: the same as covering it
      {
        name: 'starts exactly at the period start',
        sub: subscription({ startsAt: period.start }),
        segments: [segment(period.start, period.end)],
      },
    ])('$name', ({ sub, segments }) => expect(planSegments(sub, period, catalog(history('basic')))).toEqual(segments));
  });

  describe('where the subscription is not active in the period', () => {
    it.each([
      // endsAt is exclusive: ending at 1 Nov 00:00 leaves [1 Nov, 1 Nov) = nothing
      { name: 'ends exactly at the period start', sub: subscription({ endsAt: period.start }) },
      // ended in October
      { name: 'ended before the period', sub: subscription({ endsAt: '2026-10-25T00:00:00.000Z' }) },
      // the period end is exclusive: starting at 1 Dec is December's
      { name: 'starts exactly at the period end', sub: subscription({ startsAt: period.end }) },
      { name: 'starts after the period', sub: subscription({ startsAt: dec15 }) },
    ])('$name → no segment', ({ sub }) => expect(planSegments(sub, period, catalog(history('basic')))).toEqual([]));
  });

  describe('cut where the price changes', () => {
    it('a plan change on the 16th: basic before, pro from then on', () =>
      expect(
        planSegments(
          subscription({
            plans: [
              { planId: 'basic', from: oct20 },
              { planId: 'pro', from: nov16 },
            ],
          }),
          period,
          catalog(history('basic'), history('pro')),
        ),
      ).toEqual([segment(period.start, nov16, 'basic'), segment(nov16, period.end, 'pro')]));

    it('a plan change exactly at the period start: the new plan for the whole period, no cut', () =>
      expect(
        planSegments(
          subscription({
            plans: [
              { planId: 'basic', from: oct20 },
              { planId: 'pro', from: period.start },
            ],
          }),
          period,
          catalog(history('basic'), history('pro')),
        ),
      ).toEqual([segment(period.start, period.end, 'pro')]));

    it('a plan change after the subscription ended does not show', () =>
      expect(
        planSegments(
          subscription({
            endsAt: nov16,
            plans: [
              { planId: 'basic', from: oct20 },
              { planId: 'pro', from: nov20 },
            ],
          }),
          period,
          catalog(history('basic'), history('pro')),
        ),
      ).toEqual([segment(period.start, nov16, 'basic')]));

    it("a new version of the subscription's plan on the 16th: version 1 before, version 2 from then on", () =>
      expect(planSegments(subscription(), period, catalog(history('basic', nov16)))).toEqual([
        segment(period.start, nov16, 'basic', 1),
        segment(nov16, period.end, 'basic', 2),
      ]));

    it('a version effective exactly at the period start: version 2 for the whole period', () =>
      expect(planSegments(subscription(), period, catalog(history('basic', period.start)))).toEqual([
        segment(period.start, period.end, 'basic', 2),
      ]));

    it('a version effective before the period: in force for the whole period', () =>
      expect(planSegments(subscription(), period, catalog(history('basic', oct20)))).toEqual([
        segment(period.start, period.end, 'basic', 2),
      ]));

    it('a version effective after the period: not yet in force', () =>
      expect(planSegments(subscription(), period, catalog(history('basic', dec15)))).toEqual([
        segment(period.start, period.end, 'basic', 1),
      ]));

    it('two versions inside the period: three segments, versions 1, 2, 3', () =>
      expect(planSegments(subscription(), period, catalog(history('basic', nov10, nov20)))).toEqual([
        segment(period.start, nov10, 'basic', 1),
        segment(nov10, nov20, 'basic', 2),
        segment(nov20, period.end, 'basic', 3),
      ]));

    it("a new version of another plan does not split the subscription's segment (the cut is merged back)", () =>
      // pro changes price on the 16th; the subscription is on basic all month: basic v1 on both sides of the cut
      expect(planSegments(subscription(), period, catalog(history('basic'), history('pro', nov16)))).toEqual([
        segment(period.start, period.end, 'basic', 1),
      ]));

    it('a plan change and a new version of the new plan: each part with the version in force in it', () =>
      // basic until the 10th; pro v1 [10th, 20th); pro v2 from the 20th
      expect(
        planSegments(
          subscription({
            plans: [
              { planId: 'basic', from: oct20 },
              { planId: 'pro', from: nov10 },
            ],
          }),
          period,
          catalog(history('basic'), history('pro', nov20)),
        ),
      ).toEqual([
        segment(period.start, nov10, 'basic', 1),
        segment(nov10, nov20, 'pro', 1),
        segment(nov20, period.end, 'pro', 2),
      ]));
  });

  it('throws on a plan the catalog does not know', () =>
    expect(() =>
      planSegments(subscription({ plans: [{ planId: 'ghost', from: oct20 }] }), period, catalog(history('basic'))),
    ).toThrow('plan ghost of subscription sub-1 is unknown'));

  it('throws on an unknown plan the subscription changes to inside the period', () =>
    expect(() =>
      planSegments(
        subscription({
          plans: [
            { planId: 'basic', from: oct20 },
            { planId: 'ghost', from: nov16 },
          ],
        }),
        period,
        catalog(history('basic')),
      ),
    ).toThrow('plan ghost of subscription sub-1 is unknown'));
});

describe('versionAt', () => {
  // basic: v1 from the beginning, v2 from 10 Nov, v3 from 20 Nov
  const basic = history('basic', nov10, nov20);
  const ms = (iso: string) => Date.parse(iso);

  it.each([
    // long before any change: the original version
    { at: oct20, version: 1 },
    // 1 ms before v2: still v1
    { at: '2026-11-09T23:59:59.999Z', version: 1 },
    // effectiveFrom is inclusive: v2 from that instant on
    { at: nov10, version: 2 },
    { at: '2026-11-10T00:00:00.001Z', version: 2 },
    { at: '2026-11-19T23:59:59.999Z', version: 2 },
    { at: nov20, version: 3 },
    { at: dec15, version: 3 },
  ])('at $at → version $version', ({ at, version }) => expect(versionAt(basic, ms(at)).version).toBe(version));

  it('a plan with a single version always gives it', () =>
    expect(versionAt(history('basic'), ms(dec15))).toEqual({ version: 1, effectiveFrom: null, charges: [] }));
});
