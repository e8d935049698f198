import { describe, expect, it } from 'vitest';
import { ExactNumber } from '@tally/shared/util-core';
import { validateCorrection } from './correction.validation';

const now = new Date('2026-11-25T10:00:00Z');

describe('validateCorrection', () => {
  it('accepts a void with its reason', () =>
    expect(validateCorrection({ action: 'void', source: '//fn', id: 'e1', reason: ' test traffic ' }, now)).toEqual({
      ok: true,
      correction: { action: 'void', source: '//fn', id: 'e1', reason: 'test traffic' },
    }));

  it('accepts an amendment, with its numbers kept exact', () =>
    expect(
      validateCorrection(
        {
          action: 'amend',
          source: '//fn',
          id: 'e1',
          reason: 'meter bug',
          data: { gbSeconds: new ExactNumber('0.30') },
        },
        now,
      ),
    ).toEqual({
      ok: true,
      correction: { action: 'amend', source: '//fn', id: 'e1', reason: 'meter bug', data: { gbSeconds: '0.30' } },
    }));

  it.each([
    [{ action: 'delete', source: '//fn', id: 'e1', reason: 'x' }, 'action'],
    [{ action: 'void', source: '//fn', id: 'e1' }, 'reason'],
    [{ action: 'void', source: '//fn', id: 'e1', reason: 'x', data: {} }, 'data'],
    [{ action: 'amend', source: '//fn', id: 'e1', reason: 'x' }, 'data'],
    [{ action: 'void', id: 'e1', reason: 'x' }, 'source'],
    [{ action: 'void', source: '//fn', id: 7, reason: 'x' }, 'id'],
    [{ action: 'amend', source: '//fn', id: 'e1', reason: 'x', data: { note: 'a\u0000' } }, 'data.note'],
  ])('refuses %j naming %s', (input, field) => {
    const result = validateCorrection(input, now);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
  });
});
