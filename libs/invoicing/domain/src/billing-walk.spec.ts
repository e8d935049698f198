import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BillingPeriod } from '@tally/shared/util-core';
import {
  markAfter,
  periodsToWalk,
  WalkedAccount,
  WalkedSubscription,
  walkGrid,
  WalkMark,
  walkStart,
} from './billing-walk';

const day = 86_400_000;
const epoch = Date.UTC(2023, 0, 1);
const zones = ['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe', 'America/Santiago'];

/** A registry change between two runs: what moves a subscription's grid or its end. */
const change = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('start' as const), days: fc.integer({ min: -90, max: 90 }) }),
  fc.record({ kind: fc.constant('zone' as const), zone: fc.constantFrom(...zones) }),
  fc.record({ kind: fc.constant('anchor' as const), anchorDay: fc.integer({ min: 1, max: 31 }) }),
  fc.record({ kind: fc.constant('end' as const), days: fc.option(fc.integer({ min: 0, max: 900 })) }),
);

/**
 * One billing run: how far the clock moved (back too: a clock set back), what changed before it, what each step of it
 * did, and whether the invoice rows it reads lag the ledger (the projection not yet through the last run's
 * finalizations: their rows still say draft).
 */
const run = fc.record({
  days: fc.integer({ min: -40, max: 75 }),
  change,
  // Per period asked: 0 nothing (waiting, behind, failed), 1 drafted, 2 finalized; per orphan draft: voided or not.
  outcomes: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 8, maxLength: 8 }),
  voids: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  rowsLag: fc.boolean(),
});

const history = fc.record({
  startDays: fc.integer({ min: 0, max: 400 }),
  startHour: fc.integer({ min: 0, max: 23 }),
  zone: fc.constantFrom(...zones),
  anchorDay: fc.integer({ min: 1, max: 31 }),
  runs: fc.array(run, { minLength: 1, maxLength: 12 }),
});

/**
 * What a run decides for one subscription, as the scheduler decides it from the walked periods and the invoice rows
 * it read: the periods it asks the invoices service to advance (in order), and the drafts it voids as no longer
 * covered. Advancing a period already final in the ledger changes nothing (the step finds its stream final:
 * 'unchanged'), so those asked are compared by what they do; the voids are compared as asked.
 */
const decide = (
  walked: readonly Readonly<BillingPeriod>[],
  rows: { settled: ReadonlySet<string>; drafts: readonly string[] },
  ledgerSettled: ReadonlySet<string>,
) => ({
  advanced: walked.filter((p) => !rows.settled.has(p.start) && !ledgerSettled.has(p.start)).map((p) => p.start),
  voided: rows.drafts.filter((d) => !walked.some((p) => p.start === d)).sort(),
});

describe('a billing run walks from the mark as it would from the start', () => {
  it('decides the same, over random registry changes, outcomes, clocks and lagging invoice rows', () => {
    fc.assert(
      fc.property(history, (h) => {
        let subscription: WalkedSubscription = {
          startsAt: new Date(epoch + h.startDays * day + h.startHour * 3_600_000).toISOString(),
          endsAt: null,
        };
        let account: WalkedAccount = { timezone: h.zone, anchorDay: h.anchorDay };
        // The ledger: settled period starts only grow (finalized and voided are terminal); drafts come and go.
        const settled = new Set<string>();
        const drafts = new Set<string>();
        let finalizedLastRun = new Set<string>();
        let mark: WalkMark | undefined;
        let now = Date.parse(subscription.startsAt);
        for (const r of h.runs) {
          now += r.days * day;
          const c = r.change;
          if (c.kind === 'start')
            subscription = {
              ...subscription,
              startsAt: new Date(Date.parse(subscription.startsAt) + c.days * day).toISOString(),
            };
          if (c.kind === 'zone') account = { ...account, timezone: c.zone };
          if (c.kind === 'anchor') account = { ...account, anchorDay: c.anchorDay };
          if (c.kind === 'end')
            subscription = {
              ...subscription,
              endsAt: c.days === null ? null : new Date(epoch + c.days * day).toISOString(),
            };
          // The rows as the run reads them: lagging, the last run's finalizations are drafts there still.
          const lagging = r.rowsLag ? finalizedLastRun : new Set<string>();
          const rowSettled = new Set([...settled].filter((s) => !lagging.has(s)));
          const draftStarts = [...new Set([...drafts, ...lagging])];
          const from = walkStart(subscription, account, mark, draftStarts);
          // The scheduler loads only the settled rows from the mark on.
          const loaded = new Set([...rowSettled].filter((s) => from === undefined || Date.parse(s) >= from));
          const walked = periodsToWalk(subscription, account, now, from);
          const decided = decide(walked, { settled: loaded, drafts: draftStarts }, settled);
          const full = periodsToWalk(subscription, account, now);
          expect(decided).toEqual(decide(full, { settled: rowSettled, drafts: draftStarts }, settled));
          const finalizedNow = new Set<string>();
          decided.advanced.forEach((start, i) => {
            const outcome = r.outcomes[i % r.outcomes.length];
            if (outcome === 1) drafts.add(start);
            if (outcome === 2) {
              drafts.delete(start);
              settled.add(start);
              finalizedNow.add(start);
            }
          });
          // Only a draft is voided (voidDraft: onlyDraft); a row lagging behind a finalization is left as it is.
          decided.voided.forEach((start, i) => {
            if (r.voids[i % r.voids.length] && drafts.has(start)) {
              drafts.delete(start);
              settled.add(start);
            }
          });
          // The scheduler keeps a mark markAfter has nothing to say about (nothing walked).
          mark =
            markAfter(subscription, account, mark, walked, (p) => loaded.has(p.start) || finalizedNow.has(p.start)) ??
            mark;
          finalizedLastRun = finalizedNow;
        }
      }),
      { numRuns: 3_000 },
    );
  });

  it('walks only the periods after the last one settled, under the same grid', () => {
    const subscription = { startsAt: '2022-01-01T00:00:00.000Z', endsAt: null };
    const account = { timezone: 'UTC', anchorDay: 1 };
    const now = Date.UTC(2026, 0, 2);
    const all = periodsToWalk(subscription, account, now);
    expect(all).toHaveLength(48);
    const mark = markAfter(subscription, account, undefined, all, (p) => p.start < '2025-12-01');
    expect(mark).toEqual({ grid: walkGrid(subscription, account), from: '2025-12-01T00:00:00.000Z' });
    const from = walkStart(subscription, account, mark, []);
    expect(periodsToWalk(subscription, account, now, from).map((p) => p.label)).toEqual(['2025-12']);
    // Another anchor day, another start, or a draft before the mark: from the start again.
    expect(walkStart(subscription, { ...account, anchorDay: 2 }, mark, [])).toBeUndefined();
    expect(walkStart({ ...subscription, startsAt: '2022-01-02T00:00:00.000Z' }, account, mark, [])).toBeUndefined();
    expect(walkStart(subscription, account, mark, ['2025-11-15T00:00:00.000Z'])).toBeUndefined();
    expect(walkStart(subscription, account, mark, ['2025-12-01T00:00:00.000Z'])).toBe(Date.parse('2025-12-01'));
  });
});
