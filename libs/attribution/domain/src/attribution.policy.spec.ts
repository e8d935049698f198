import { describe, expect, it } from 'vitest';
import { attribute } from './attribution.policy';

const at = (iso: string) => new Date(iso);
const history = [
  { accountId: 'acct-a', effectiveFrom: at('2026-11-01T00:00:00Z') },
  { accountId: 'acct-b', effectiveFrom: at('2026-11-15T12:00:00Z') },
];

describe('attribute', () => {
  it.each([
    ['before any assignment', '2026-10-31T23:59:59.999Z', { status: 'parked', reason: 'unknown_subject' }],
    ['at the first instant of an assignment', '2026-11-01T00:00:00Z', { status: 'attributed', accountId: 'acct-a' }],
    ['one millisecond before a transfer', '2026-11-15T11:59:59.999Z', { status: 'attributed', accountId: 'acct-a' }],
    ['at the transfer instant', '2026-11-15T12:00:00Z', { status: 'attributed', accountId: 'acct-b' }],
  ])('%s', (_label, time, expected) => expect(attribute(at(time), history)).toEqual(expected));

  it('parks when the subject is unknown', () => expect(attribute(at('2026-11-20T00:00:00Z'), [])).toEqual({ status: 'parked', reason: 'unknown_subject' }));
});
