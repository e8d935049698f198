import { BudgetEvent, BudgetSetV1, isBudgetEvent } from '@tally/contracts/meters';
import { StreamDecider, unhandledEvent } from '@tally/shared/util-core';
import { Budget } from './budget';
import { refuse } from './errors';

/** A budget's stream (`budget-{tenant}_{id}`): set (again: a new definition), then perhaps removed. */
export type BudgetState = { status: 'none' } | { status: 'set'; budget: Budget } | { status: 'removed' };

/** The edge looks up whether the account and the meter exist in the ledger; the decider rules on them. */
export type BudgetCommand =
  | { type: 'SetBudget'; data: BudgetSetV1; metadata: { accountExists: boolean; meterExists: boolean } }
  | { type: 'RemoveBudget'; data: { tenant: string; budgetId: string } };

const sameBudget = (a: Budget, b: Budget) =>
  a.accountId === b.accountId &&
  a.meter === b.meter &&
  a.app === b.app &&
  a.limit === b.limit &&
  a.thresholds.join() === b.thresholds.join();

export const decideBudget = (command: BudgetCommand, state: BudgetState): BudgetEvent[] => {
  switch (command.type) {
    case 'SetBudget': {
      const { data, metadata } = command;
      if (!metadata.accountExists) refuse('unknown_account', `account ${data.accountId} does not exist`, 'accountId');
      if (!metadata.meterExists) refuse('unknown_meter_reference', `meter ${data.meter} does not exist`, 'meter');
      const { tenant: _tenant, ...budget } = data;
      return state.status === 'set' && sameBudget(state.budget, budget) ? [] : [{ type: 'BudgetSet', data }];
    }
    case 'RemoveBudget':
      if (state.status !== 'set') refuse('unknown_budget', `no budget ${command.data.budgetId}`);
      return [{ type: 'BudgetRemoved', data: command.data }];
  }
};

export const evolveBudget = (_state: BudgetState, event: BudgetEvent): BudgetState => {
  switch (event.type) {
    case 'BudgetSet': {
      const { tenant: _tenant, ...budget } = event.data;
      return { status: 'set', budget };
    }
    case 'BudgetRemoved':
      return { status: 'removed' };
    default:
      return unhandledEvent(event);
  }
};

export const budgetDecider: StreamDecider<BudgetCommand, BudgetEvent, BudgetState> = {
  decide: decideBudget,
  evolve: evolveBudget,
  initialState: () => ({ status: 'none' }),
  events: isBudgetEvent,
};
