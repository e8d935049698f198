import { describe, expect, it } from 'vitest';
import { validateUsageEvent } from './cloud-event.validation';

const now = new Date('2026-11-25T10:00:00Z');
const valid = {
  specversion: '1.0',
  id: 'evt-1',
  source: '//fn-runtime',
  type: 'fn.invocation',
  subject: 'inst-42',
  time: '2026-11-25T09:59:00Z',
  data: { gbSeconds: '1.5' },
};

describe('validateUsageEvent', () => {
  it('accepts a complete event and normalises its time to UTC', () =>
    expect(validateUsageEvent({ ...valid, time: '2026-11-25T10:59:00+01:00' }, now)).toEqual({
      ok: true,
      event: { ...valid, time: '2026-11-25T09:59:00.000Z' },
    }));

  it('fills a missing time with the receive time', () => {
    const { time: _time, ...untimed } = valid;
    expect(validateUsageEvent(untimed, now)).toMatchObject({ ok: true, event: { time: now.toISOString() } });
  });

  it.each([
    [{ ...valid, id: undefined }, 'id', 'id is required'],
    [{ ...valid, id: 42 }, 'id', 'id must be a string'],
    [{ ...valid, source: '  ' }, 'source', 'source must not be empty'],
    [{ ...valid, subject: 'x'.repeat(513) }, 'subject', 'subject is longer than 512 characters'],
    [{ ...valid, specversion: '0.3' }, 'specversion', 'specversion must be "1.0"'],
    [
      { ...valid, time: 'yesterday' },
      'time',
      'time must be an RFC 3339 timestamp with an offset, e.g. 2026-11-25T10:00:00Z',
    ],
    [{ ...valid, time: '2026-11-25T10:05:01Z' }, 'time', 'time is more than 5 minutes in the future'],
    [{ ...valid, data: [1] }, 'data', 'data must be a JSON object'],
    // 35 days before 2026-11-25T10:00Z is 2026-10-21T10:00Z: one millisecond earlier is too late.
    [{ ...valid, time: '2026-10-21T09:59:59.999Z' }, 'time', 'time is older than the lateness horizon (35 days)'],
  ])('refuses %j with a reason on %s', (input, field, message) =>
    expect(validateUsageEvent(input, now)).toEqual({ ok: false, errors: [{ field, message }] }),
  );

  it('accepts an event exactly at the lateness horizon', () =>
    expect(validateUsageEvent({ ...valid, time: '2026-10-21T10:00:00Z' }, now).ok).toBe(true));

  it('reads the horizon from configuration', () =>
    expect(validateUsageEvent({ ...valid, time: '2026-11-20T10:00:00Z' }, now, 3)).toEqual({
      ok: false,
      errors: [{ field: 'time', message: 'time is older than the lateness horizon (3 days)' }],
    }));

  it('reports every problem at once', () => {
    const result = validateUsageEvent({ specversion: '1.0' }, now);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual(['id', 'source', 'type', 'subject']);
  });

  it('bounds how deep data nests: 32 levels pass, 33 (and 500) are refused once, naming data', () => {
    const nested = (levels: number): Record<string, unknown> => {
      let value: Record<string, unknown> = { gbSeconds: '1' };
      for (let level = 1; level < levels; level += 1) value = { inner: value };
      return value;
    };
    expect(validateUsageEvent({ ...valid, data: nested(32) }, now).ok).toBe(true);
    for (const levels of [33, 500])
      expect(validateUsageEvent({ ...valid, data: nested(levels) }, now)).toEqual({
        ok: false,
        errors: [{ field: 'data', message: 'data nests deeper than 32 levels' }],
      });
  });

  it('refuses what is not an object', () => expect(validateUsageEvent('evt', now)).toMatchObject({ ok: false }));
});
