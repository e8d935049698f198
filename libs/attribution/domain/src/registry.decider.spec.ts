import { describe, expect, it } from 'vitest';
import { DomainError } from '@tally/shared/util-core';
import { decideAccount, evolveAccount, initialAccount, OpenAccount } from './account.decider';
import { AssignSubject, decideSubject, evolveSubject, initialSubject } from './subject.decider';

const now = '2026-11-25T10:00:00.000Z';
const open = (name = 'Acme'): OpenAccount => ({ type: 'OpenAccount', data: { tenant: 't1', accountId: 'acme', name, currency: 'USD', timezone: 'UTC' }, metadata: { now } });
const assign = (effectiveFrom: string, accountId = 'acme', accountExists = true): AssignSubject => ({
  type: 'AssignSubject',
  data: { tenant: 't1', subject: 'inst-1', accountId, effectiveFrom, attributes: {} },
  metadata: { now, accountExists },
});

describe('Account', () => {
  it('opens once', () => expect(decideAccount(open(), initialAccount())).toEqual([{ type: 'AccountOpened', data: { ...open().data, openedAt: now } }]));
  it('ignores the same opening repeated', () => {
    const state = evolveAccount(initialAccount(), decideAccount(open(), initialAccount())[0]);
    expect(decideAccount(open(), state)).toEqual([]);
  });
  it('refuses to reopen with other details', () => {
    const state = evolveAccount(initialAccount(), decideAccount(open(), initialAccount())[0]);
    expect(() => decideAccount(open('Other'), state)).toThrow(DomainError);
  });
});

describe('Subject assignment', () => {
  const assigned = evolveSubject(initialSubject(), decideSubject(assign('2026-11-01T00:00:00.000Z'), initialSubject())[0]);
  it('refuses an unknown account', () => expect(() => decideSubject(assign('2026-11-01T00:00:00.000Z', 'nobody', false), initialSubject())).toThrow(/does not exist/));
  it('ignores the latest assignment repeated', () => expect(decideSubject(assign('2026-11-01T00:00:00.000Z'), assigned)).toEqual([]));
  it('refuses an assignment that does not start after the latest', () => expect(() => decideSubject(assign('2026-10-01T00:00:00.000Z', 'other'), assigned)).toThrow(/after the latest/));
  it('appends a later transfer', () => expect(decideSubject(assign('2026-11-15T00:00:00.000Z', 'other'), assigned)).toHaveLength(1));
});
