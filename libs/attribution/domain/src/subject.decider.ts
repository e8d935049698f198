import { DomainError } from '@tally/shared/util-core';
import { SubjectAssigned } from './registry.events';

export interface AssignSubject {
  type: 'AssignSubject';
  data: { tenant: string; subject: string; accountId: string; effectiveFrom: string; attributes: Record<string, string> };
  metadata: { now: string; accountExists: boolean };
}

export interface SubjectHistory {
  assignments: SubjectAssigned['data'][];
}

export const initialSubject = (): SubjectHistory => ({ assignments: [] });

export const evolveSubject = (state: SubjectHistory, event: SubjectAssigned): SubjectHistory => {
  switch (event.type) {
    case 'SubjectAssigned':
      return { assignments: [...state.assignments, event.data] };
    default: {
      const _never: never = event.type;
      return state;
    }
  }
};

/**
 * Assigns a subject to an account from an instant on. Repeating the latest assignment is a no-op;
 * an assignment must start after the latest one (history is appended, never rewritten).
 */
export const decideSubject = (command: AssignSubject, state: SubjectHistory): SubjectAssigned[] => {
  const { data } = command;
  if (!command.metadata.accountExists) throw new DomainError('unknown_account', `account ${data.accountId} does not exist`, 'accountId');
  const latest = state.assignments.at(-1);
  if (latest && latest.accountId === data.accountId && latest.effectiveFrom === data.effectiveFrom) return [];
  if (latest && Date.parse(data.effectiveFrom) <= Date.parse(latest.effectiveFrom)) {
    throw new DomainError(
      'assignment_not_after_latest',
      `effectiveFrom must be after the latest assignment (${latest.effectiveFrom}); retroactive corrections are a separate operation`,
      'effectiveFrom',
    );
  }
  return [{ type: 'SubjectAssigned', data: { ...data, assignedAt: command.metadata.now } }];
};
