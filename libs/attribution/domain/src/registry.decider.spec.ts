import { describe, expect, it } from 'vitest';
import { DomainError } from '@tally/shared/util-core';
import { Account, AccountCommand, decideAccount, evolveAccount, initialAccount } from './account.decider';
import { AccountEvent } from './registry.events';
import { decideSubject, SubjectCommand } from './subject.decider';
import { foldTimeline } from './subject-timeline';

const now = '2026-11-25T10:00:00.000Z';
const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}T00:00:00.000Z`;
const open: AccountCommand = {
  type: 'OpenAccount',
  data: {
    tenant: 't1',
    accountId: 'acme',
    name: 'Acme',
    currency: 'USD',
    timezone: 'UTC',
    billingAnchorDay: 1,
    locale: 'en-US',
  },
  metadata: { now },
};
const usd = { plan: { currency: 'USD' } };
const start = (
  id: string,
  startsAt: string,
  endsAt: string | null,
  facts: { plan?: { currency: string } } = usd,
): AccountCommand => ({
  type: 'StartSubscription',
  data: { subscriptionId: id, planId: 'pro', startsAt, endsAt },
  metadata: { now, ...facts },
});

/** given events, when a command, then events or a refusal code */
const given = (...commands: AccountCommand[]): Account =>
  commands.reduce((state, command) => decideAccount(command, state).reduce(evolveAccount, state), initialAccount());
const refusal = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return (error as DomainError).code;
  }
};

describe('Account', () => {
  it('opens once; the same opening repeated is a no-op; other details are refused', () => {
    expect(decideAccount(open, initialAccount())).toHaveLength(1);
    expect(decideAccount(open, given(open))).toEqual([]);
    expect(
      refusal(() => decideAccount({ ...open, data: { ...open.data, name: 'Other' } } as AccountCommand, given(open))),
    ).toBe('account_exists');
  });

  it('records the locale; another locale is other details', () => {
    const german = { ...open, data: { ...open.data, locale: 'de-DE' } } as AccountCommand;
    expect(decideAccount(german, initialAccount())).toMatchObject([{ data: { locale: 'de-DE' } }]);
    expect(refusal(() => decideAccount(german, given(open)))).toBe('account_exists');
  });

  it('folds an account opened before locales existed (no locale in its event) as en-US', () => {
    const { locale: _, ...before } = { ...open.data, openedAt: now };
    const state = evolveAccount(initialAccount(), { type: 'AccountOpened', data: before });
    expect(decideAccount(open, state)).toEqual([]);
  });
});

describe('Subscriptions', () => {
  const running = given(open, start('s1', day(1), day(15)));

  it('starts one on a known plan in the account currency', () =>
    expect(decideAccount(start('s2', day(15), null), running)).toEqual<AccountEvent[]>([
      {
        type: 'SubscriptionStarted',
        data: {
          tenant: 't1',
          accountId: 'acme',
          subscriptionId: 's2',
          planId: 'pro',
          startsAt: day(15),
          endsAt: null,
          at: now,
        },
      },
    ]));

  it.each([
    ['an unknown account', () => decideAccount(start('s2', day(15), null), initialAccount()), 'unknown_account'],
    ['an unknown plan', () => decideAccount(start('s2', day(15), null, {}), running), 'unknown_plan'],
    [
      'a plan in another currency',
      () => decideAccount(start('s2', day(15), null, { plan: { currency: 'EUR' } }), running),
      'plan_currency_mismatch',
    ],
    ['a reversed interval', () => decideAccount(start('s2', day(20), day(16)), running), 'reversed_interval'],
    ['an empty interval', () => decideAccount(start('s2', day(20), day(20)), running), 'reversed_interval'],
    // s1 runs [1st, 15th): the 14th overlaps, the 15th does not
    ['an overlapping interval', () => decideAccount(start('s2', day(14), null), running), 'overlapping_subscription'],
    [
      'the same id with other details',
      () => decideAccount(start('s1', day(1), day(16)), running),
      'subscription_exists',
    ],
  ])('refuses %s', (_label, run, code) => expect(refusal(run)).toBe(code));

  it('repeating a start is a no-op', () => expect(decideAccount(start('s1', day(1), day(15)), running)).toEqual([]));

  it('cancels at an instant, only earlier than the planned end', () => {
    const cancel = (endsAt: string): AccountCommand => ({
      type: 'CancelSubscription',
      data: { subscriptionId: 's1', endsAt, reason: 'churn' },
      metadata: { now },
    });
    expect(decideAccount(cancel(day(10)), running)).toHaveLength(1);
    expect(decideAccount(cancel(day(15)), running)).toEqual([]);
    expect(refusal(() => decideAccount(cancel(day(16)), running))).toBe('cannot_extend');
    expect(
      refusal(() =>
        decideAccount(
          { ...cancel(day(10)), data: { subscriptionId: 'nope', endsAt: day(10), reason: 'x' } } as AccountCommand,
          running,
        ),
      ),
    ).toBe('unknown_subscription');
  });

  it('changes plan at an instant inside the subscription, in order', () => {
    const change = (effectiveFrom: string, facts: { plan?: { currency: string } } = usd): AccountCommand => ({
      type: 'ChangePlan',
      data: { subscriptionId: 's1', planId: 'enterprise', effectiveFrom },
      metadata: { now, ...facts },
    });
    expect(decideAccount(change(day(5)), running)).toHaveLength(1);
    expect(refusal(() => decideAccount(change(day(1)), running))).toBe('plan_change_out_of_order');
    expect(refusal(() => decideAccount(change(day(15)), running))).toBe('outside_subscription');
    expect(refusal(() => decideAccount(change(day(5), {}), running))).toBe('unknown_plan');
  });

  it('moves a start earlier, unless that overlaps another subscription', () => {
    const reschedule = (startsAt: string): AccountCommand => ({
      type: 'RescheduleSubscription',
      data: { subscriptionId: 's2', startsAt, reason: 'backdated' },
      metadata: { now },
    });
    const two = given(open, start('s1', day(1), day(10)), start('s2', day(15), null));
    expect(decideAccount(reschedule(day(10)), two)).toHaveLength(1);
    expect(refusal(() => decideAccount(reschedule(day(9)), two))).toBe('overlapping_subscription');
  });
});

describe('Subject', () => {
  const assign = (accountId: string, effectiveFrom: string, accountExists = true): SubjectCommand => ({
    type: 'AssignSubject',
    data: { tenant: 't1', subject: 'inst-1', accountId, effectiveFrom, attributes: {} },
    metadata: { now, accountExists },
  });
  const owned = foldTimeline(decideSubject(assign('A', day(1)), []) as never);

  it('refuses an unknown account', () =>
    expect(refusal(() => decideSubject(assign('X', day(1), false), []))).toBe('unknown_account'));
  it('ignores the latest assignment repeated', () => expect(decideSubject(assign('A', day(1)), owned)).toEqual([]));
  it('refuses an assignment that does not start after the latest', () =>
    expect(refusal(() => decideSubject(assign('B', day(1)), owned))).toBe('assignment_not_after_latest'));
  it('appends a later transfer', () => expect(decideSubject(assign('B', day(15)), owned)).toHaveLength(1));

  const correct = (accountId: string, from: string, to: string | null, accountExists = true): SubjectCommand => ({
    type: 'CorrectAssignment',
    data: {
      tenant: 't1',
      subject: 'inst-1',
      accountId,
      effectiveFrom: from,
      effectiveTo: to,
      attributes: {},
      reason: 'wrong owner',
    },
    metadata: { now, accountExists },
  });
  it('corrects the past with a reason', () =>
    expect(decideSubject(correct('B', day(3), null), owned)).toMatchObject([{ type: 'SubjectAssignmentCorrected' }]));
  it('a correction that changes nothing is a no-op', () =>
    expect(decideSubject(correct('A', day(1), null), owned)).toEqual([]));
  it('refuses a reversed correction interval', () =>
    expect(refusal(() => decideSubject(correct('B', day(5), day(3)), owned))).toBe('reversed_interval'));
  it('refuses to correct a subject that was never assigned', () =>
    expect(refusal(() => decideSubject(correct('B', day(5), null), []))).toBe('unknown_subject'));
});
