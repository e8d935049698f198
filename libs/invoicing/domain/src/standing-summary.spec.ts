import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InvoiceStanding } from './rerating';
import {
  decideEarlier,
  decideEarlierFromSummary,
  EarlierDecision,
  emptyStandingSummary,
  evolveStandingSummary,
  PeriodBounds,
  StandingSummary,
} from './standing-summary';

const month = (m: number): PeriodBounds => ({
  start: new Date(Date.UTC(2024, m, 1)).toISOString(),
  end: new Date(Date.UTC(2024, m + 1, 1)).toISOString(),
});

/** One lifecycle step on a month's invoice, as the decider allows it (others are skipped). */
type Step =
  | { kind: 'draft'; month: number }
  | { kind: 'finalize'; month: number; settled: 'none' | 'same' | 'other'; usagePosition: number }
  | { kind: 'void'; month: number };

const steps = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('draft' as const), month: fc.nat(7) }),
    fc.record({
      kind: fc.constant('finalize' as const),
      month: fc.nat(7),
      settled: fc.constantFrom('none' as const, 'same' as const, 'other' as const),
      usagePosition: fc.nat(1_000),
    }),
    fc.record({ kind: fc.constant('void' as const), month: fc.nat(7) }),
  ),
  { maxLength: 30 },
);

const inputs = 'digest-now';

/** Every invoice's standing by month, and the summary folded alongside, change by change. */
const play = (history: readonly Step[]) => {
  const standings = new Map<number, InvoiceStanding>();
  let summary: StandingSummary = emptyStandingSummary();
  let position = 100;
  for (const step of history) {
    const before = standings.get(step.month) ?? { status: 'none' as const };
    const period = month(step.month);
    let after: InvoiceStanding | undefined;
    position += 1;
    if (step.kind === 'draft' && before.status === 'none') after = { status: 'draft', periodStart: period.start };
    if (step.kind === 'finalize' && before.status === 'draft')
      after = {
        status: 'finalized',
        periodStart: period.start,
        finalizedAt: '2025-01-01T00:00:00Z',
        finalizedPosition: String(position),
        ...(step.settled !== 'none' && {
          settled: {
            usagePosition: String(step.usagePosition),
            inputs: step.settled === 'same' ? inputs : 'digest-before',
          },
        }),
      };
    if (step.kind === 'void' && (before.status === 'draft' || before.status === 'finalized'))
      after = { ...before, status: 'voided' };
    if (!after) continue;
    standings.set(step.month, after);
    summary = evolveStandingSummary(summary, { period, before, after });
  }
  return { standings, summary };
};

const reference = (standings: ReadonlyMap<number, InvoiceStanding>, billed: number): EarlierDecision =>
  decideEarlier(
    [...standings.entries()]
      .filter(([m]) => m < billed)
      .sort(([a], [b]) => a - b)
      .map(([m, standing]) => ({ period: month(m), standing })),
    inputs,
  );

describe('a subscription’s standing summary decides on its earlier periods as their standings do', () => {
  it('whatever the history, for any period billed: the same decision, or none where the summary cannot say', () => {
    fc.assert(
      fc.property(steps, fc.nat(8), (history, billed) => {
        const { standings, summary } = play(history);
        const fromSummary = decideEarlierFromSummary(summary, month(billed), inputs);
        const laterOrOwn = [...standings.entries()].filter(([m]) => m >= billed);
        // It can say whenever no invoice is for a later period and this period's own is at most a draft.
        const canSay = laterOrOwn.every(([m, s]) => m === billed && s.status === 'draft');
        expect(fromSummary !== undefined).toBe(canSay);
        if (!fromSummary) return;
        const expected = reference(standings, billed);
        if (expected.kind !== 'since' || fromSummary.kind !== 'since') {
          expect(fromSummary).toEqual(expected);
          return;
        }
        expect(fromSummary.since).toBe(expected.since);
        // One range over every finalized period: from the first one's start to the last one's end.
        const [range] = fromSummary.settled;
        expect(range).toEqual({ start: expected.settled[0].start, end: expected.settled.at(-1)?.end });
      }),
      { numRuns: 5_000 },
    );
  });

  it('an earlier draft leaves the adjustments to it; this period’s own draft does not count', () => {
    const { summary } = play([
      { kind: 'draft', month: 0 },
      { kind: 'finalize', month: 0, settled: 'same', usagePosition: 7 },
      { kind: 'draft', month: 1 },
    ]);
    expect(decideEarlierFromSummary(summary, month(1), inputs)).toEqual({
      kind: 'since',
      since: 7n,
      settled: [month(0)],
    });
    expect(decideEarlierFromSummary(summary, month(2), inputs)).toEqual({ kind: 'alone', open: true });
    // A period before the last invoiced one: the summary cannot tell what came before it.
    expect(decideEarlierFromSummary(summary, month(0), inputs)).toBeUndefined();
  });

  it('a voided finalization re-rates every finalized period from then on', () => {
    const { summary } = play([
      { kind: 'draft', month: 0 },
      { kind: 'finalize', month: 0, settled: 'same', usagePosition: 7 },
      { kind: 'draft', month: 1 },
      { kind: 'finalize', month: 1, settled: 'same', usagePosition: 9 },
      { kind: 'void', month: 0 },
    ]);
    expect(decideEarlierFromSummary(summary, month(2), inputs)).toEqual({ kind: 'all' });
  });
});
