import { sumOf } from './decimal';

/** One row of GET /v1/accounts/{id}/usage's `windows`: windowStart, windowEnd, the breakdown's attributes, value. */
export type UsageWindow = Record<string, string | null>;

/** A meter's usage over time as a stacked chart draws it: one series per breakdown group, aligned on the windows. */
export interface UsageSeries {
  /** Every window with usage, by start (ISO instants as the API answers them). */
  starts: string[];
  /** Each group (its attribute values) and its value in each window: null where the group had none. */
  groups: { label: string; values: (string | null)[] }[];
  /** The exact sum of every value: equals the meter's total for sums and counts. */
  total: string;
  /** How many values the chart draws (non-null). */
  values: number;
}

const fixed = new Set(['windowStart', 'windowEnd', 'value']);

/** A group's label: its attribute values in the breakdown's order, "—" for subjects without one. */
export const groupLabel = (row: UsageWindow, breakdownBy: readonly string[]) =>
  breakdownBy.map((name) => row[name] ?? '—').join(' · ');

/**
 * Aligns the rows on their windows so that a stacked chart stacks values of the same window (charts stack by
 * position, not by time); the groups in first-seen order, so colours stay put as new usage arrives.
 */
export const seriesOf = (rows: readonly UsageWindow[], breakdownBy: readonly string[]): UsageSeries => {
  const names = breakdownBy.length > 0 ? breakdownBy : Object.keys(rows[0] ?? {}).filter((key) => !fixed.has(key));
  const starts = [...new Set(rows.map((row) => row.windowStart as string))].sort();
  const index = new Map(starts.map((start, i) => [start, i]));
  const groups = new Map<string, (string | null)[]>();
  const counted: string[] = [];
  for (const row of rows) {
    if (row.value === null) continue;
    const label = groupLabel(row, names);
    let values = groups.get(label);
    if (!values) groups.set(label, (values = starts.map(() => null)));
    const at = index.get(row.windowStart as string) as number;
    values[at] = values[at] === null ? row.value : sumOf([values[at] as string, row.value]);
    counted.push(row.value);
  }
  return {
    starts,
    groups: [...groups].map(([label, values]) => ({ label, values })),
    total: sumOf(counted),
    values: counted.length,
  };
};
