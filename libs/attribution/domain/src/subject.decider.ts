import { StreamDecider } from '@tally/shared/util-core';
import { isSubjectEvent, SubjectEvent } from './registry.events';
import { evolveTimeline, SubjectTimeline } from './subject-timeline';
import { refuse } from './errors';

export type SubjectCommand =
  | {
      type: 'AssignSubject';
      data: {
        tenant: string;
        subject: string;
        accountId: string;
        effectiveFrom: string;
        attributes: Record<string, string>;
      };
      metadata: { now: string; accountExists: boolean };
    }
  | {
      type: 'CorrectAssignment';
      data: {
        tenant: string;
        subject: string;
        accountId: string;
        effectiveFrom: string;
        effectiveTo: string | null;
        attributes: Record<string, string>;
        reason: string;
      };
      metadata: { now: string; accountExists: boolean };
    };

const ms = (iso: string) => Date.parse(iso);
const sameTimeline = (a: SubjectTimeline, b: SubjectTimeline) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Assignments move a subject forward in time: each starts after the latest one (repeating the latest is
 * a no-op). Rewriting the past is a separate, explicit command — a correction, with a reason — so that
 * moving usage already attributed is always a deliberate act, recorded as such.
 */
export const decideSubject = (command: SubjectCommand, timeline: SubjectTimeline): SubjectEvent[] => {
  const { data, metadata } = command;
  if (!metadata.accountExists) refuse('unknown_account', `account ${data.accountId} does not exist`, 'accountId');
  switch (command.type) {
    case 'AssignSubject': {
      const latest = timeline[timeline.length - 1];
      if (
        latest &&
        latest.accountId === data.accountId &&
        latest.from === data.effectiveFrom &&
        sameAttributes(latest.attributes, data.attributes)
      )
        return [];
      if (latest && ms(data.effectiveFrom) <= ms(latest.from)) {
        refuse(
          'assignment_not_after_latest',
          `effectiveFrom must be after the latest assignment (${latest.from}); to rewrite the past, post a correction`,
          'effectiveFrom',
        );
      }
      return [{ type: 'SubjectAssigned', data: { ...command.data, assignedAt: metadata.now } }];
    }
    case 'CorrectAssignment': {
      if (timeline.length === 0)
        refuse('unknown_subject', `subject ${data.subject} has no assignments to correct; assign it first`);
      if (command.data.effectiveTo !== null && ms(command.data.effectiveTo) <= ms(data.effectiveFrom))
        refuse('reversed_interval', 'effectiveTo must be after effectiveFrom', 'effectiveTo');
      const event: SubjectEvent = {
        type: 'SubjectAssignmentCorrected',
        data: { ...command.data, correctedAt: metadata.now },
      };
      return sameTimeline(evolveTimeline(timeline, event), timeline) ? [] : [event];
    }
    default: {
      const _never: never = command;
      return refuse('unknown_command', 'unknown command');
    }
  }
};

const sameAttributes = (a: Record<string, string>, b: Record<string, string>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** A subject's stream (`subject-{tenant}_{key}`): who owned it when. */
export const subjectDecider: StreamDecider<SubjectCommand, SubjectEvent, SubjectTimeline> = {
  decide: decideSubject,
  evolve: evolveTimeline,
  initialState: () => [],
  events: isSubjectEvent,
};
