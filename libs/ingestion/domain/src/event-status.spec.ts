import { describe, expect, it } from 'vitest';
import { eventStatus, StatusFacts } from './event-status';

const none: StatusFacts = {
  acceptedAt: null,
  rejectedAt: null,
  recordedAt: null,
  parkedAt: null,
  attributedAt: null,
  voidedAt: null,
  current: null,
};
const t = '2026-11-25T10:00:00.000Z';

describe('eventStatus', () => {
  it.each<[Partial<StatusFacts>, string | undefined]>([
    [{}, undefined],
    [{ rejectedAt: t }, 'rejected'],
    // rejected once, then sent again correctly: what counts is that it was accepted
    [{ rejectedAt: t, acceptedAt: t }, 'accepted'],
    [{ acceptedAt: t, recordedAt: t }, 'recorded'],
    [{ acceptedAt: t, recordedAt: t, parkedAt: t, current: 'parked' }, 'parked'],
    [{ acceptedAt: t, recordedAt: t, parkedAt: t, attributedAt: t, current: 'attributed' }, 'attributed'],
    // attributed first, then moved back to parked (e.g. the subscription was cancelled retroactively)
    [{ acceptedAt: t, recordedAt: t, attributedAt: t, parkedAt: t, current: 'parked' }, 'parked'],
    [{ acceptedAt: t, recordedAt: t, attributedAt: t, voidedAt: t, current: 'attributed' }, 'voided'],
  ])('%j → %s', (facts, status) => expect(eventStatus({ ...none, ...facts })).toBe(status));
});
