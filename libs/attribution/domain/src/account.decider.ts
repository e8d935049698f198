import { billingAnchorDayOf, localeOf } from '@tally/contracts/accounts';
import { StreamDecider } from '@tally/shared/util-core';
import { AccountEvent, AccountOpened, isAccountEvent } from './registry.events';
import { evolveSubscriptions, overlaps, Subscription } from './subscriptions';
import { refuse } from './errors';

/** What the edge looked up for the command: the plan it names, if it exists. */
export interface PlanFacts {
  plan?: { currency: string };
}

export type AccountCommand =
  | {
      type: 'OpenAccount';
      data: {
        tenant: string;
        accountId: string;
        name: string;
        currency: string;
        timezone: string;
        billingAnchorDay: number;
        /** Canonical BCP 47 (the edge canonicalizes it). */
        locale: string;
      };
      metadata: { now: string };
    }
  | {
      type: 'StartSubscription';
      data: { subscriptionId: string; planId: string; startsAt: string; endsAt: string | null };
      metadata: { now: string } & PlanFacts;
    }
  | {
      type: 'CancelSubscription';
      data: { subscriptionId: string; endsAt: string; reason: string };
      metadata: { now: string };
    }
  | {
      type: 'ChangePlan';
      data: { subscriptionId: string; planId: string; effectiveFrom: string };
      metadata: { now: string } & PlanFacts;
    }
  | {
      type: 'RescheduleSubscription';
      data: { subscriptionId: string; startsAt: string; reason: string };
      metadata: { now: string };
    };

export type Account =
  { status: 'none' } | { status: 'open'; opened: AccountOpened['data']; subscriptions: Subscription[] };

export const initialAccount = (): Account => ({ status: 'none' });

export const evolveAccount = (state: Account, event: AccountEvent): Account => {
  if (event.type === 'AccountOpened') return { status: 'open', opened: event.data, subscriptions: [] };
  if (state.status !== 'open') return state;
  return { ...state, subscriptions: evolveSubscriptions(state.subscriptions, event) };
};

const ms = (iso: string) => Date.parse(iso);
export const decideAccount = (command: AccountCommand, state: Account): AccountEvent[] => {
  if (command.type === 'OpenAccount') return openAccount(command, state);
  if (state.status !== 'open') return refuse('unknown_account', 'the account does not exist', 'accountId');
  const { tenant, accountId } = state.opened;
  const at = command.metadata.now;
  const others = (id: string) => state.subscriptions.filter((s) => s.subscriptionId !== id);
  switch (command.type) {
    case 'StartSubscription': {
      const { subscriptionId, planId, startsAt, endsAt } = command.data;
      const existing = state.subscriptions.find((s) => s.subscriptionId === subscriptionId);
      if (existing) {
        const same =
          existing.plans[0].planId === planId &&
          existing.startsAt === startsAt &&
          existing.endsAt === endsAt &&
          existing.plans.length === 1;
        return same
          ? []
          : refuse('subscription_exists', `subscription ${subscriptionId} already exists with other details`, 'id');
      }
      checkPlan(command.metadata, planId, state.opened.currency);
      if (endsAt !== null && ms(endsAt) <= ms(startsAt))
        refuse('reversed_interval', 'endsAt must be after startsAt', 'endsAt');
      const clash = state.subscriptions.find((s) => overlaps(s, { startsAt, endsAt }));
      if (clash)
        refuse(
          'overlapping_subscription',
          `the account's subscription ${clash.subscriptionId} already runs in that interval`,
          'startsAt',
        );
      return [
        { type: 'SubscriptionStarted', data: { tenant, accountId, subscriptionId, planId, startsAt, endsAt, at } },
      ];
    }
    case 'CancelSubscription': {
      const { subscriptionId, endsAt, reason } = command.data;
      const s = subscriptionOf(state.subscriptions, subscriptionId);
      if (s.endsAt === endsAt) return [];
      if (ms(endsAt) < ms(s.startsAt)) refuse('reversed_interval', 'a subscription cannot end before it starts', 'at');
      if (s.endsAt !== null && ms(endsAt) > ms(s.endsAt))
        refuse('cannot_extend', `the subscription already ends at ${s.endsAt}; cancelling cannot extend it`, 'at');
      return [{ type: 'SubscriptionCancelled', data: { tenant, accountId, subscriptionId, endsAt, reason, at } }];
    }
    case 'ChangePlan': {
      const { subscriptionId, planId, effectiveFrom } = command.data;
      const s = subscriptionOf(state.subscriptions, subscriptionId);
      const last = s.plans[s.plans.length - 1];
      if (last.planId === planId && last.from === effectiveFrom) return [];
      checkPlan(command.metadata, planId, state.opened.currency);
      if (ms(effectiveFrom) <= ms(last.from))
        refuse(
          'plan_change_out_of_order',
          `a plan change must come after the last one (${last.from})`,
          'effectiveFrom',
        );
      if (s.endsAt !== null && ms(effectiveFrom) >= ms(s.endsAt))
        refuse('outside_subscription', `the subscription ends at ${s.endsAt}`, 'effectiveFrom');
      return [
        { type: 'SubscriptionPlanChanged', data: { tenant, accountId, subscriptionId, planId, effectiveFrom, at } },
      ];
    }
    case 'RescheduleSubscription': {
      const { subscriptionId, startsAt, reason } = command.data;
      const s = subscriptionOf(state.subscriptions, subscriptionId);
      if (s.startsAt === startsAt) return [];
      if (s.endsAt !== null && ms(startsAt) >= ms(s.endsAt))
        refuse('reversed_interval', 'startsAt must be before the subscription ends', 'startsAt');
      if (s.plans.length > 1 && ms(startsAt) >= ms(s.plans[1].from))
        refuse(
          'plan_change_out_of_order',
          `startsAt must be before the first plan change (${s.plans[1].from})`,
          'startsAt',
        );
      const clash = others(subscriptionId).find((o) => overlaps(o, { startsAt, endsAt: s.endsAt }));
      if (clash)
        refuse(
          'overlapping_subscription',
          `the account's subscription ${clash.subscriptionId} already runs in that interval`,
          'startsAt',
        );
      return [{ type: 'SubscriptionRescheduled', data: { tenant, accountId, subscriptionId, startsAt, reason, at } }];
    }
    default: {
      const _never: never = command;
      return refuse('unknown_command', 'unknown command');
    }
  }
};

/** Opening an account twice with the same details is a no-op (safe retries); with other details it is refused. */
const openAccount = (command: Extract<AccountCommand, { type: 'OpenAccount' }>, state: Account): AccountEvent[] => {
  if (state.status === 'open') {
    const { name, currency, timezone } = state.opened;
    const same =
      name === command.data.name &&
      currency === command.data.currency &&
      timezone === command.data.timezone &&
      billingAnchorDayOf(state.opened) === command.data.billingAnchorDay &&
      localeOf(state.opened) === command.data.locale;
    return same
      ? []
      : refuse('account_exists', `account ${command.data.accountId} already exists with other details`, 'id');
  }
  return [{ type: 'AccountOpened', data: { ...command.data, openedAt: command.metadata.now } }];
};

const checkPlan = (facts: PlanFacts, planId: string, currency: string): void => {
  if (!facts.plan) refuse('unknown_plan', `plan ${planId} does not exist`, 'planId');
  else if (facts.plan.currency !== currency)
    refuse(
      'plan_currency_mismatch',
      `plan ${planId} is priced in ${facts.plan.currency}, the account pays in ${currency}`,
      'planId',
    );
};

const subscriptionOf = (subscriptions: readonly Subscription[], id: string): Subscription =>
  subscriptions.find((s) => s.subscriptionId === id) ??
  refuse('unknown_subscription', `subscription ${id} does not exist`);

/** An account's stream (`account-{tenant}_{id}`): the account and its subscriptions. */
export const accountDecider: StreamDecider<AccountCommand, AccountEvent, Account> = {
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccount,
  events: isAccountEvent,
};
