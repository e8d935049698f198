import { Attribution } from '@tally/contracts/usage';

export interface Assignment {
  accountId: string;
  effectiveFrom: Date;
}

/**
 * Temporal attribution: the account that held the subject at the event's own time, i.e. the latest
 * assignment effective at or before it. Without one the event is parked, never guessed.
 */
export const attribute = (eventTime: Date, assignments: readonly Assignment[]): Attribution => {
  let owner: Assignment | undefined;
  for (const assignment of assignments) {
    if (assignment.effectiveFrom.getTime() <= eventTime.getTime() && (!owner || assignment.effectiveFrom > owner.effectiveFrom)) owner = assignment;
  }
  return owner ? { status: 'attributed', accountId: owner.accountId } : { status: 'parked', reason: 'unknown_subject' };
};
