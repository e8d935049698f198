import { SubjectEvent } from './registry.events';

/** Who owned a subject from when: segments ordered by `from`, each lasting until the next. */
export interface Segment {
  from: string;
  accountId: string;
  attributes: Record<string, string>;
}

export type SubjectTimeline = Segment[];

const ms = (iso: string) => Date.parse(iso);

/** The segment in force at an instant, if any. */
export const ownerAt = (timeline: SubjectTimeline, instant: Date | string): Segment | undefined => {
  const t = typeof instant === 'string' ? ms(instant) : instant.getTime();
  let owner: Segment | undefined;
  for (const segment of timeline) if (ms(segment.from) <= t) owner = segment;
  return owner;
};

/**
 * Folds subject events into the timeline. An assignment appends a segment; a correction rewrites
 * [from, to): ownership inside goes to the corrected account, and whoever owned the subject at `to`
 * keeps it from `to` on (`to` absent: until the next segment that started after `from`).
 */
export const evolveTimeline = (timeline: SubjectTimeline, event: SubjectEvent): SubjectTimeline => {
  switch (event.type) {
    case 'SubjectAssigned': {
      const { effectiveFrom, accountId, attributes } = event.data;
      return [...timeline, { from: effectiveFrom, accountId, attributes }];
    }
    case 'SubjectAssignmentCorrected': {
      const { effectiveFrom, accountId, attributes } = event.data;
      const to = event.data.effectiveTo ?? timeline.find((s) => ms(s.from) > ms(effectiveFrom))?.from ?? null;
      const ownerAtTo = to === null ? undefined : ownerAt(timeline, to);
      const before = timeline.filter((s) => ms(s.from) < ms(effectiveFrom));
      const after = to === null ? [] : timeline.filter((s) => ms(s.from) > ms(to));
      const resumed = to !== null && ownerAtTo ? [{ ...ownerAtTo, from: to }] : [];
      return [...before, { from: effectiveFrom, accountId, attributes }, ...resumed, ...after];
    }
    default: {
      const _never: never = event;
      return timeline;
    }
  }
};

export const foldTimeline = (events: readonly SubjectEvent[]): SubjectTimeline => events.reduce(evolveTimeline, []);
