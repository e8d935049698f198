/** What became of an event, from the facts known about it. Later stages outrank earlier ones. */
export type EventStatus = 'rejected' | 'accepted' | 'recorded' | 'parked' | 'attributed' | 'voided';

export interface StatusFacts {
  acceptedAt: string | null;
  rejectedAt: string | null;
  recordedAt: string | null;
  parkedAt: string | null;
  attributedAt: string | null;
  voidedAt: string | null;
  /** Where it is now: usage can move from attributed back to parked, and on. */
  current: 'attributed' | 'parked' | null;
}

export const eventStatus = (facts: StatusFacts): EventStatus | undefined => {
  if (facts.voidedAt) return 'voided';
  if (facts.current) return facts.current;
  if (facts.recordedAt) return 'recorded';
  if (facts.acceptedAt) return 'accepted';
  if (facts.rejectedAt) return 'rejected';
  return undefined;
};
