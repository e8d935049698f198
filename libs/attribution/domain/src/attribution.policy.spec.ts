import { describe, expect, it } from 'vitest';
import { attribute } from './attribution.policy';
import { SubjectTimeline } from './subject-timeline';
import { Subscription } from './subscriptions';

const timeline: SubjectTimeline = [
  { from: '2026-11-01T00:00:00.000Z', accountId: 'acme', attributes: { app: 'forge-app', environment: 'production' } },
  // transferred mid-period, at an exact instant
  {
    from: '2026-11-15T12:00:00.000Z',
    accountId: 'globex',
    attributes: { app: 'forge-app', environment: 'production' },
  },
];
const subscriptions: Record<string, Subscription[]> = {
  acme: [
    {
      subscriptionId: 'sub-acme',
      startsAt: '2026-11-01T00:00:00.000Z',
      endsAt: null,
      plans: [
        { planId: 'free', from: '2026-11-01T00:00:00.000Z' },
        { planId: 'pro', from: '2026-11-10T00:00:00.000Z' },
      ],
    },
  ],
  globex: [
    {
      subscriptionId: 'sub-globex',
      startsAt: '2026-11-15T12:00:00.000Z',
      endsAt: '2026-11-20T00:00:00.000Z',
      plans: [{ planId: 'pro', from: '2026-11-15T12:00:00.000Z' }],
    },
  ],
};
const subs = (account: string) => subscriptions[account] ?? [];

describe('attribute', () => {
  it.each([
    ['before the first assignment', '2026-10-31T23:59:59.999Z', { status: 'parked', reason: 'no_owner_at_time' }],
    [
      'at the first instant of the assignment',
      '2026-11-01T00:00:00.000Z',
      { status: 'attributed', accountId: 'acme', subscriptionId: 'sub-acme', planId: 'free' },
    ],
    [
      'one millisecond before the plan change',
      '2026-11-09T23:59:59.999Z',
      { status: 'attributed', accountId: 'acme', planId: 'free' },
    ],
    ['at the plan change', '2026-11-10T00:00:00.000Z', { status: 'attributed', accountId: 'acme', planId: 'pro' }],
    [
      'one millisecond before the transfer',
      '2026-11-15T11:59:59.999Z',
      { status: 'attributed', accountId: 'acme', subscriptionId: 'sub-acme' },
    ],
    [
      'at the transfer instant',
      '2026-11-15T12:00:00.000Z',
      { status: 'attributed', accountId: 'globex', subscriptionId: 'sub-globex', planId: 'pro' },
    ],
    [
      "one millisecond before the new owner's subscription ends",
      '2026-11-19T23:59:59.999Z',
      { status: 'attributed', accountId: 'globex' },
    ],
    ['when the owner has no subscription', '2026-11-20T00:00:00.000Z', { status: 'parked', reason: 'no_subscription' }],
  ])('%s', (_label, time, expected) => expect(attribute(time, timeline, subs)).toMatchObject(expected));

  it('carries the subject attributes of that time', () =>
    expect(attribute('2026-11-02T00:00:00Z', timeline, subs)).toMatchObject({
      attributes: { app: 'forge-app', environment: 'production' },
    }));

  it('parks usage of an unknown subject', () =>
    expect(attribute('2026-11-20T00:00:00Z', [], subs)).toEqual({ status: 'parked', reason: 'unknown_subject' }));
});
