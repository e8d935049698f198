import { describe, expect, it } from 'vitest';
import { readMeter } from '@tally/contracts/meters';
import { Meter, validateMeter } from './meter';

const gbSeconds = {
  slug: 'gb_seconds',
  eventType: 'fn.invocation',
  aggregation: 'SUM',
  valueProperty: '$.gbSeconds',
  groupBy: { app: '$.app', region: '$.region' },
};

describe('validateMeter', () => {
  it('accepts an OpenMeter meter definition, naming it after its slug by default', () =>
    expect(validateMeter(gbSeconds)).toEqual({
      ok: true,
      meter: { ...gbSeconds, name: 'gb_seconds', description: null },
    }));

  it('accepts what OpenMeter accepts: its longest slug, name and description; COUNT with a value property (ignored)', () => {
    const longest = { ...gbSeconds, slug: 'a'.repeat(64), name: 'n'.repeat(256), description: 'd'.repeat(1_024) };
    expect(validateMeter(longest).ok).toBe(true);
    expect(validateMeter({ slug: 'c', eventType: 't', aggregation: 'COUNT', valueProperty: '$.x' })).toEqual({
      ok: true,
      meter: {
        slug: 'c',
        name: 'c',
        description: null,
        eventType: 't',
        aggregation: 'COUNT',
        valueProperty: null,
        groupBy: {},
      },
    });
  });

  it('keeps eventFrom (normalized) and metadata when given', () =>
    expect(
      validateMeter({ ...gbSeconds, eventFrom: '2026-01-01T01:00:00+01:00', metadata: { owner: 'platform' } }),
    ).toMatchObject({ ok: true, meter: { eventFrom: '2026-01-01T00:00:00.000Z', metadata: { owner: 'platform' } } }));

  it('accepts COUNT without a value property', () =>
    expect(validateMeter({ slug: 'invocations', eventType: 'fn.invocation', aggregation: 'COUNT' }).ok).toBe(true));

  it.each([
    [{ ...gbSeconds, slug: 'GB Seconds' }, 'slug'],
    [{ ...gbSeconds, slug: undefined }, 'slug'],
    [{ ...gbSeconds, eventType: '' }, 'eventType'],
    [{ ...gbSeconds, aggregation: 'MEDIAN' }, 'aggregation'],
    [{ ...gbSeconds, valueProperty: undefined }, 'valueProperty'],
    [{ ...gbSeconds, valueProperty: 'gbSeconds' }, 'valueProperty'],
    [{ ...gbSeconds, slug: 'a'.repeat(65) }, 'slug'],
    [{ ...gbSeconds, name: 'n'.repeat(257) }, 'name'],
    [{ ...gbSeconds, description: 'd'.repeat(1_025) }, 'description'],
    [{ ...gbSeconds, eventFrom: '2026-01-01' }, 'eventFrom'],
    [{ ...gbSeconds, metadata: { a: 1 } }, 'metadata.a'],
    [{ ...gbSeconds, metadata: ['x'] }, 'metadata'],
    [{ ...gbSeconds, groupBy: { app: '$..app' } }, 'groupBy.app'],
    [{ ...gbSeconds, groupBy: { '1st': '$.a' } }, 'groupBy.1st'],
    [{ ...gbSeconds, groupBy: ['$.app'] }, 'groupBy'],
  ])('refuses %j naming %s', (input, field) => {
    const result = validateMeter(input);
    expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
  });
});

describe('readMeter', () => {
  const meter = (validateMeter(gbSeconds) as { meter: Meter }).meter;

  it.each([
    // decimal text, kept exact: 0.1 + 0.2 stays 0.3 later because nothing here is a float
    [
      { gbSeconds: '0.1', app: 'a', region: 'eu' },
      { ok: true, value: '0.1', groups: { app: 'a', region: 'eu' } },
    ],
    [
      { gbSeconds: '12345678901234567890.123456789' },
      { ok: true, value: '12345678901234567890.123456789', groups: { app: null, region: null } },
    ],
    [{ gbSeconds: '1e3' }, { ok: true, value: '1000', groups: { app: null, region: null } }],
    [{ gbSeconds: 2 }, { ok: true, value: '2', groups: { app: null, region: null } }],
    [{}, { ok: false, reason: 'missing_value', path: '$.gbSeconds' }],
    [{ gbSeconds: 'lots' }, { ok: false, reason: 'not_a_number', path: '$.gbSeconds' }],
    [{ gbSeconds: '0x10' }, { ok: false, reason: 'not_a_number', path: '$.gbSeconds' }],
    [{ gbSeconds: 'Infinity' }, { ok: false, reason: 'not_a_number', path: '$.gbSeconds' }],
    [{ gbSeconds: '' }, { ok: false, reason: 'not_a_number', path: '$.gbSeconds' }],
    [{ gbSeconds: { value: 1 } }, { ok: false, reason: 'not_a_number', path: '$.gbSeconds' }],
  ])('reads %j', (data, expected) => expect(readMeter(meter, data)).toEqual(expected));

  it('reads 1 per event for COUNT, and any identity for UNIQUE_COUNT', () => {
    const count = (validateMeter({ slug: 'calls', eventType: 't', aggregation: 'COUNT' }) as { meter: Meter }).meter;
    const unique = (
      validateMeter({ slug: 'users', eventType: 't', aggregation: 'UNIQUE_COUNT', valueProperty: '$.user' }) as {
        meter: Meter;
      }
    ).meter;
    expect(readMeter(count, {})).toMatchObject({ ok: true, value: '1' });
    expect(readMeter(unique, { user: 'u-42' })).toMatchObject({ ok: true, value: 'u-42' });
  });
});
