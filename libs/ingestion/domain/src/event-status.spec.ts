import { describe, expect, it } from 'vitest';
import { eventStatus, StatusFacts } from './event-status';

const none: StatusFacts = { acceptedAt: null, rejectedAt: null, recordedAt: null, parkedAt: null, attributedAt: null, voidedAt: null };
const t = '2026-11-25T10:00:00.000Z';

describe('eventStatus', () => {
  it.each([
    [{}, undefined],
    [{ rejectedAt: t }, 'rejected'],
    // rejected once, then sent again correctly: what counts is that it was accepted
    [{ rejectedAt: t, acceptedAt: t }, 'accepted'],
    [{ acceptedAt: t, recordedAt: t }, 'recorded'],
    [{ acceptedAt: t, recordedAt: t, parkedAt: t }, 'parked'],
    [{ acceptedAt: t, recordedAt: t, parkedAt: t, attributedAt: t }, 'attributed'],
    [{ acceptedAt: t, recordedAt: t, attributedAt: t, voidedAt: t }, 'voided'],
  ])('%j → %s', (facts, status) => expect(eventStatus({ ...none, ...facts })).toBe(status));
});
