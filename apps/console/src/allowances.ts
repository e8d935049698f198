import type { components } from '@tally/client/http';
import { exceeds, percentOf } from './decimal';

type Line = components['schemas']['InvoiceLine'];
type Plan = components['schemas']['Plan'];

/** One charge's free allowance for one group (app) in one plan segment, and how much of it is used. */
export interface AllowanceUse {
  meter: string;
  per: string | null;
  perValue: string | null;
  planId: string;
  planVersion: number;
  used: string;
  allowance: string;
  /** used ÷ allowance, one decimal, may be over 100 */
  percent: string;
  exceeded: boolean;
}

/**
 * This period's free allowances and their use, from the upcoming invoice's usage lines (each group's measured
 * quantity) and the plan version each line was rated with (the charge's `allowance`). A graduated charge has a line
 * per tier with the same quantity: one bar per (charge, group, segment). Charges without an allowance have no bar.
 */
export const allowanceUses = (lines: readonly Line[], plans: ReadonlyMap<string, Plan>): AllowanceUse[] => {
  const uses = new Map<string, AllowanceUse>();
  for (const line of lines) {
    if (line.kind !== 'usage') continue;
    const { planId, planVersion, from } = line.segment;
    const charge = plans
      .get(planId)
      ?.versions.find((v) => v.version === planVersion)
      ?.charges.find((c) => c.meter === line.meter && c.per === line.per);
    const percent = charge && percentOf(line.quantity, charge.allowance);
    if (!charge || percent === undefined) continue;
    const key = [line.meter, line.perValue, planId, planVersion, from].join('\u0000');
    uses.set(key, {
      meter: line.meter,
      per: line.per,
      perValue: line.perValue,
      planId,
      planVersion,
      used: line.quantity,
      allowance: charge.allowance,
      percent,
      // Decided on the exact numbers, not on the rounded share: a single unit over is billed, so it shows.
      exceeded: exceeds(line.quantity, charge.allowance),
    });
  }
  return [...uses.values()];
};
