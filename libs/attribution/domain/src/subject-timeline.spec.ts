import { describe, expect, it } from 'vitest';
import { SubjectAssignmentCorrected } from './registry.events';
import { evolveTimeline, ownerAt, SubjectTimeline } from './subject-timeline';

const at = (day: number) => `2026-11-${String(day).padStart(2, '0')}T00:00:00.000Z`;
const seg = (day: number, accountId: string) => ({ from: at(day), accountId, attributes: {} });
const corrected = (accountId: string, from: number, to?: number): SubjectAssignmentCorrected => ({
  type: 'SubjectAssignmentCorrected',
  data: {
    tenant: 't1',
    subject: 's',
    accountId,
    effectiveFrom: at(from),
    effectiveTo: to === undefined ? null : at(to),
    attributes: {},
    reason: 'wrong owner',
    correctedAt: at(25),
  },
});
// A owns from the 1st, C from the 20th.
const timeline: SubjectTimeline = [seg(1, 'A'), seg(20, 'C')];

describe('subject timeline corrections', () => {
  it('"B since the 3rd, not A": B until the next change', () =>
    expect(evolveTimeline(timeline, corrected('B', 3))).toEqual([seg(1, 'A'), seg(3, 'B'), seg(20, 'C')]));

  it('a bounded correction hands the subject back to its owner at the end', () =>
    expect(evolveTimeline(timeline, corrected('B', 3, 10))).toEqual([
      seg(1, 'A'),
      seg(3, 'B'),
      seg(10, 'A'),
      seg(20, 'C'),
    ]));

  it('a correction over a later assignment replaces it inside the interval and resumes after', () =>
    expect(evolveTimeline(timeline, corrected('B', 3, 25))).toEqual([seg(1, 'A'), seg(3, 'B'), seg(25, 'C')]));

  it('a correction before the first assignment gives the subject an earlier owner, until the first', () => {
    const early: SubjectAssignmentCorrected = {
      ...corrected('B', 1),
      data: { ...corrected('B', 1).data, effectiveFrom: '2026-10-25T00:00:00.000Z' },
    };
    expect(evolveTimeline(timeline, early)).toEqual([
      { from: '2026-10-25T00:00:00.000Z', accountId: 'B', attributes: {} },
      seg(1, 'A'),
      seg(20, 'C'),
    ]);
  });

  it('ownerAt reads the segment in force, edges included', () => {
    const t = evolveTimeline(timeline, corrected('B', 3, 10));
    expect([
      ownerAt(t, '2026-11-02T23:59:59.999Z')?.accountId,
      ownerAt(t, at(3))?.accountId,
      ownerAt(t, at(10))?.accountId,
      ownerAt(t, '2026-10-31T00:00:00Z'),
    ]).toEqual(['A', 'B', 'A', undefined]);
  });
});
