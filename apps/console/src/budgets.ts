import type { components } from '@tally/client/http';
import { percentOf, reaches, sumOf } from './decimal';

type Budget = components['schemas']['Budget'];
type CostBudget = components['schemas']['CostBudgetWithAlerts'];
type AccountUsage = components['schemas']['AccountUsage'];
type UpcomingInvoice = components['schemas']['UpcomingInvoice'];

export interface BudgetUse {
  used: string;
  /** used ÷ limit, one decimal; undefined without a limit */
  percent?: string;
  /** the thresholds (whole %) reached this period */
  crossed: number[];
}

/**
 * A usage budget against this period's usage (broken down by app): the meter's total, or one app's. The same
 * reading the budget's alerts use (aggregation's budget evaluator filters by app the same way).
 */
export const usageBudgetUse = (budget: Budget, usage: AccountUsage): BudgetUse => {
  const meter = usage.meters.find((m) => m.slug === budget.meter);
  const used =
    (budget.app === null ? meter?.total : meter?.breakdown.find((row) => row.app === budget.app)?.value) ?? '0';
  return {
    used,
    percent: percentOf(used, budget.limit),
    crossed: budget.thresholds.filter((t) => reaches(used, budget.limit, t)),
  };
};

/**
 * A cost budget against the upcoming invoice as rated now (its exact subtotal, or the lines of its app), with the
 * thresholds its alerts say were crossed this period (alerts are recorded by billing runs, so they can lag the
 * amount by one run).
 */
export const costBudgetUse = (budget: CostBudget, invoice: UpcomingInvoice): BudgetUse => {
  const used =
    budget.app === null
      ? invoice.subtotal
      : sumOf(invoice.lines.filter((l) => l.perValue === budget.app).map((l) => l.amount));
  const alerted = budget.alerts.filter((a) => a.kind === 'cost' && a.period === invoice.period.label);
  return {
    used,
    percent: budget.limit === null ? undefined : percentOf(used, budget.limit),
    crossed: [...new Set(alerted.map((a) => a.threshold))].sort((a, b) => a - b),
  };
};

/** The budget's free-allowance alerts of this period (allowances: true), one line each. */
export const allowanceAlerts = (budget: CostBudget, period: string) =>
  budget.alerts.filter((a) => a.kind === 'allowance' && a.period === period);
