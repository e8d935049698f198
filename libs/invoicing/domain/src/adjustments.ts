import { ExactDecimal } from '@tally/shared/util-core';
import type { RatedLine } from './charge';
import { canonicalDecimal } from './money';
import type { PlanSegment } from './plan-segments';

/** An invoice line as adjustments see it: a rated line in its plan segment (the published UsageLineV1/AdjustmentLineV1 shape). */
export type LineLike = RatedLine & { kind: 'usage' | 'adjustment'; segment: PlanSegment };

export type Adjustment = LineLike & {
  kind: 'adjustment';
  adjusts: { invoiceId: string; period: string };
  billedQuantity: string;
  billedAmount: string;
  currentAmount: string;
};

const groupKey = (l: LineLike) =>
  JSON.stringify([l.segment.from, l.segment.to, l.segment.planId, l.segment.planVersion, l.meter, l.perValue]);
const lineKey = (l: LineLike) => JSON.stringify([groupKey(l), l.tier]);
const d = (text: string) => new ExactDecimal(text);

interface Sum {
  line: LineLike;
  units: ExactDecimal;
  flat: ExactDecimal;
  amount: ExactDecimal;
}

const sums = (lines: readonly LineLike[]): Map<string, Sum> => {
  const out = new Map<string, Sum>();
  for (const l of lines) {
    const s = out.get(lineKey(l)) ?? { line: l, units: d('0'), flat: d('0'), amount: d('0') };
    out.set(lineKey(l), {
      line: l,
      units: s.units.plus(l.units),
      flat: s.flat.plus(l.flatPrice),
      amount: s.amount.plus(l.amount),
    });
  }
  return out;
};

/** Latest quantity per group: the invoice's line, then each later adjustment's (they carry the quantity as re-rated then). */
export const billedQuantities = (billed: readonly LineLike[]): Map<string, string> => {
  const out = new Map<string, string>();
  for (const l of billed) out.set(groupKey(l), l.quantity);
  return out;
};

/**
 * What changed in a finalized period since it was billed: for every (segment, meter, group, tier), the
 * line as re-rated now minus everything billed for it (the finalized invoice's line plus earlier
 * adjustments, in billing order). A line only moves money when amounts differ; a quantity change that
 * costs nothing (inside the allowance) still gets a zero line, so the billed quantity stays the ledger's.
 */
export const adjustmentLines = (
  adjusts: { invoiceId: string; period: string },
  billed: readonly LineLike[],
  current: readonly LineLike[],
): Adjustment[] => {
  const was = sums(billed);
  const now = sums(current);
  const billedQty = billedQuantities(billed);
  const currentQty = billedQuantities(current);
  const out: Adjustment[] = [];
  const groupsWithLine = new Set<string>();
  const keys = [...new Set([...now.keys(), ...was.keys()])];
  for (const key of keys) {
    const n = now.get(key);
    const w = was.get(key);
    const base = (n ?? w) as Sum;
    const group = groupKey(base.line);
    const amount = (n?.amount ?? d('0')).minus(w?.amount ?? d('0'));
    const units = (n?.units ?? d('0')).minus(w?.units ?? d('0'));
    if (amount.isZero() && units.isZero()) continue;
    groupsWithLine.add(group);
    out.push(
      adjustment(adjusts, base.line, {
        quantity: currentQty.get(group) ?? '0',
        billedQuantity: billedQty.get(group) ?? '0',
        units,
        flat: (n?.flat ?? d('0')).minus(w?.flat ?? d('0')),
        amount,
        billedAmount: w?.amount ?? d('0'),
        currentAmount: n?.amount ?? d('0'),
      }),
    );
  }
  for (const [group, quantity] of currentQty) {
    const before = billedQty.get(group) ?? '0';
    if (groupsWithLine.has(group) || d(quantity).equals(before)) continue;
    const line = current.find((l) => groupKey(l) === group) as LineLike;
    out.push(
      adjustment(adjusts, line, {
        quantity,
        billedQuantity: before,
        units: d('0'),
        flat: d('0'),
        amount: d('0'),
        billedAmount: d(line.amount),
        currentAmount: d(line.amount),
      }),
    );
  }
  for (const [group, before] of billedQty) {
    if (currentQty.has(group) || groupsWithLine.has(group) || d(before).isZero()) continue;
    const line = billed.find((l) => groupKey(l) === group) as LineLike;
    out.push(
      adjustment(adjusts, line, {
        quantity: '0',
        billedQuantity: before,
        units: d('0'),
        flat: d('0'),
        amount: d('0'),
        billedAmount: d('0'),
        currentAmount: d('0'),
      }),
    );
  }
  return out;
};

const adjustment = (
  adjusts: { invoiceId: string; period: string },
  line: LineLike,
  v: {
    quantity: string;
    billedQuantity: string;
    units: ExactDecimal;
    flat: ExactDecimal;
    amount: ExactDecimal;
    billedAmount: ExactDecimal;
    currentAmount: ExactDecimal;
  },
): Adjustment => ({
  kind: 'adjustment',
  segment: line.segment,
  meter: line.meter,
  model: line.model,
  per: line.per,
  perValue: line.perValue,
  quantity: canonicalDecimal(v.quantity),
  allowanceApplied: line.allowanceApplied,
  tier: line.tier,
  units: canonicalDecimal(v.units.toFixed()),
  unitPrice: line.unitPrice,
  ...(line.quotedPrice !== undefined && { quotedPrice: line.quotedPrice }),
  flatPrice: canonicalDecimal(v.flat.toFixed()),
  amount: canonicalDecimal(v.amount.toFixed()),
  adjusts,
  billedQuantity: canonicalDecimal(v.billedQuantity),
  billedAmount: canonicalDecimal(v.billedAmount.toFixed()),
  currentAmount: canonicalDecimal(v.currentAmount.toFixed()),
});

export const netAmount = (lines: readonly { amount: string }[]): ExactDecimal =>
  lines.reduce((sum, l) => sum.plus(l.amount), new ExactDecimal(0));
