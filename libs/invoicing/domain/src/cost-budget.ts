import { CostBudgetEvent, CostBudgetSetV1, CostThresholdCrossedV1, isCostBudgetEvent } from '@tally/contracts/invoices';
import type { InvoiceLineV1 } from '@tally/contracts/invoices';
import type { ChargeV1 } from '@tally/contracts/plans';
import { ExactDecimal, StreamDecider, unhandledEvent } from '@tally/shared/util-core';
import { refuse } from './errors';
import { sumAmounts } from './money';

/**
 * A budget on what an account's usage costs in a billing period, rated as its invoice will be: a limit in the
 * account's currency on the whole invoice or on one app's charges, and/or alerts at thresholds of each charge's
 * free allowance (Forge alerts at 50, 75, 90 and 100 % of every free allowance). Thresholds in percent.
 */
export type CostBudget = Omit<CostBudgetSetV1, 'tenant'>;

export type CostBudgetState = { status: 'none' } | { status: 'set'; budget: CostBudget } | { status: 'removed' };

export type CostBudgetCommand =
  | { type: 'SetCostBudget'; data: CostBudgetSetV1; metadata: { accountExists: boolean } }
  | { type: 'RemoveCostBudget'; data: { tenant: string; budgetId: string } };

const same = (a: CostBudget, b: CostBudget) => JSON.stringify(a) === JSON.stringify(b);

export const decideCostBudget = (command: CostBudgetCommand, state: CostBudgetState): CostBudgetEvent[] => {
  switch (command.type) {
    case 'SetCostBudget': {
      const { data, metadata } = command;
      if (!metadata.accountExists)
        refuse('cost_budget_account_unknown', `account ${data.accountId} does not exist`, 'accountId');
      const { tenant: _tenant, ...budget } = data;
      return state.status === 'set' && same(state.budget, budget) ? [] : [{ type: 'CostBudgetSet', data }];
    }
    case 'RemoveCostBudget':
      if (state.status !== 'set') refuse('unknown_cost_budget', `no cost budget ${command.data.budgetId}`);
      return [{ type: 'CostBudgetRemoved', data: command.data }];
  }
};

export const evolveCostBudget = (_state: CostBudgetState, event: CostBudgetEvent): CostBudgetState => {
  switch (event.type) {
    case 'CostBudgetSet': {
      const { tenant: _tenant, ...budget } = event.data;
      return { status: 'set', budget };
    }
    case 'CostBudgetRemoved':
      return { status: 'removed' };
    default:
      return unhandledEvent(event);
  }
};

export const costBudgetDecider: StreamDecider<CostBudgetCommand, CostBudgetEvent, CostBudgetState> = {
  decide: decideCostBudget,
  evolve: evolveCostBudget,
  initialState: () => ({ status: 'none' }),
  events: isCostBudgetEvent,
};

/** A crossing as the budget sees it now; the edge turns new ones into CostThresholdCrossed events. */
export type CostCrossing = Omit<
  CostThresholdCrossedV1,
  'tenant' | 'budgetId' | 'accountId' | 'app' | 'period' | 'currency'
>;

/**
 * The thresholds a period's rated invoice has reached under a budget (pure): its cost — the usage lines of the
 * budget's app, or every line — against the limit; and each charge's quantity (per group, per plan segment)
 * against its allowance. `chargesOf` gives the charges of a line's plan segment (for the allowance).
 */
export const costCrossings = (
  budget: CostBudget,
  lines: readonly InvoiceLineV1[],
  chargesOf: (line: InvoiceLineV1) => readonly ChargeV1[],
): CostCrossing[] => {
  const crossings: CostCrossing[] = [];
  const mine = budget.app === null ? lines : lines.filter((l) => l.perValue === budget.app);
  if (budget.limit !== null) {
    const cost = sumAmounts(mine.map((l) => l.amount));
    for (const threshold of reached(budget.thresholds, cost, budget.limit))
      crossings.push({
        kind: 'cost',
        threshold,
        limit: budget.limit,
        value: cost,
        meter: null,
        perValue: null,
        segmentFrom: null,
      });
  }
  if (budget.allowances) {
    // Graduated and volume charges have one line per tier, all with the group's quantity: one reading per group.
    const seen = new Set<string>();
    for (const line of mine) {
      if (line.kind !== 'usage') continue;
      const key = JSON.stringify([line.segment.from, line.meter, line.perValue]);
      if (seen.has(key)) continue;
      seen.add(key);
      const allowance = chargesOf(line).find((c) => c.meter === line.meter)?.allowance ?? '0';
      if (new ExactDecimal(allowance).isZero()) continue;
      for (const threshold of reached(budget.thresholds, line.quantity, allowance))
        crossings.push({
          kind: 'allowance',
          threshold,
          limit: allowance,
          value: line.quantity,
          meter: line.meter,
          perValue: line.perValue,
          segmentFrom: line.segment.from,
        });
    }
  }
  return crossings;
};

/** value ≥ limit × t / 100, exactly. */
const reached = (thresholds: readonly number[], value: string, limit: string): number[] =>
  thresholds.filter((t) => new ExactDecimal(value).times(100).gte(new ExactDecimal(limit).times(t)));
