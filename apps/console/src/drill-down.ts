import type { components } from '@tally/client/http';
import type { AccountFilters } from './account-filters';
import { accountPath } from './router';

type Line = components['schemas']['InvoiceLine'];

/**
 * The usage behind an invoice line: the account page filtered to the line's period (an adjustment's is the
 * period it adjusts), its meter, and its group when the charge is priced per group (`filterAttribute[app]=app-1`).
 * The usage shown there is the line's `quantity` when the line covers the whole period (one plan segment).
 */
export const usageFiltersOf = (periodLabel: string, line: Line): AccountFilters => ({
  period: line.kind === 'adjustment' ? line.adjusts.period : periodLabel,
  meter: line.meter,
  attributes: line.per && line.perValue !== null ? { [line.per]: line.perValue } : {},
});

export const usageBehindPath = (accountId: string, periodLabel: string, line: Line) =>
  accountPath(accountId, usageFiltersOf(periodLabel, line));
