import { describe, expect, it } from 'vitest';
import { ExactDecimal } from '@tally/shared/util-core';
import { readMeter } from './meter-reading';
import { evaluateValueExpression, exactDivide, parseValueExpression, type ValueExpression } from './value-expression';

const parsed = (text: string): ValueExpression => {
  const result = parseValueExpression(text);
  if (!result.ok) throw new Error(result.error);
  return result.expression;
};
const value = (text: string, data: Record<string, unknown>) => {
  const result = evaluateValueExpression(parsed(text), data);
  return result.ok ? result.value.toFixed() : result;
};
const error = (text: string) => {
  const result = parseValueExpression(text);
  return result.ok ? 'parsed' : result.error;
};

describe('value expressions', () => {
  describe('Forge’s measurement rules', () => {
    it('GB-seconds = memoryMiB ÷ 1024 × duration in seconds: 512 MiB for 1,500 ms is 0.75 GB-s', () =>
      // 512 / 1024 = 0.5; 0.5 × 1500 = 750; 750 / 1000 = 0.75
      expect(value('memoryMiB / 1024 * durationMs / 1000', { memoryMiB: 512, durationMs: '1500' })).toBe('0.75'));

    it('an empty KVS read counts as 1 KB: max(bytes, 1000) / 1000000000', () => {
      expect(value('max(bytes, 1000) / 1000000000', { bytes: 0 })).toBe('0.000001');
      expect(value('max(bytes, 1000) / 1000000000', { bytes: 150000000 })).toBe('0.15');
    });
  });

  describe('grammar', () => {
    it('multiplies and divides before it adds, left to right, parentheses first', () => {
      expect(value('a + b * c', { a: 1, b: 2, c: 3 })).toBe('7');
      expect(value('(a + b) * c', { a: 1, b: 2, c: 3 })).toBe('9');
      expect(value('a - b - c', { a: 10, b: 2, c: 3 })).toBe('5');
      expect(value('a / b / c', { a: 100, b: 2, c: 5 })).toBe('10');
      expect(value('-a * -b', { a: 2, b: 3 })).toBe('6');
    });

    it('reads nested fields, numbers and decimal text alike', () =>
      expect(value('usage.bytes + usage.extra', { usage: { bytes: '1.5', extra: 2.25 } })).toBe('3.75'));

    it('has min, max (two or more arguments), ceil and floor', () => {
      expect(value('min(a, b, 3)', { a: 5, b: 4 })).toBe('3');
      expect(value('max(a, 0)', { a: -2 })).toBe('0');
      expect(value('ceil(ms / 100) * 100', { ms: 101 })).toBe('200');
      expect(value('floor(a)', { a: '-1.5' })).toBe('-2');
    });

    it('counts nesting by parentheses and calls: five nested calls and a long chain are fine', () => {
      expect(value('max(min(max(min(max(a, 1), 2), 3), 4), 5)', { a: 0 })).toBe('5');
      expect(value(Array.from({ length: 30 }, () => 'a').join(' + '), { a: 1 })).toBe('30');
    });

    it.each([
      ['', 'expected a number, a field or ( at the end'],
      ['a +', 'expected a number, a field or ( at the end'],
      ['a b', "unexpected 'b' at position 3"],
      ['(a', "expected ')' at the end"],
      ['a % 2', "unexpected '%' at position 3"],
      ['pow(a, 2)', 'unknown function pow at position 1 (min, max, ceil, floor)'],
      ['min(a)', 'min takes 2 to 16 arguments (position 1)'],
      ['ceil(a, b)', 'ceil takes 1 argument (position 1)'],
      ['1 + 2', 'an expression must read at least one field of data'],
      ['a.', "expected a field name after '.' at the end"],
      ['1e3 * a', "unexpected 'e3' at position 2"],
      ['a'.repeat(513), 'at most 512 characters'],
      [Array.from({ length: 40 }, (_, i) => `f${i}`).join(' + '), 'at most 64 numbers, fields and operations'],
      ['('.repeat(20) + 'a' + ')'.repeat(20), 'nested at most 16 levels deep'],
    ])('refuses %j: %s', (text, message) => expect(error(text)).toBe(message));
  });

  describe('exactness', () => {
    it('keeps every digit: no binary float anywhere', () =>
      expect(value('a * b', { a: '12345678901234567890.123', b: '1000' })).toBe('12345678901234567890123'));

    it('divides exactly when the quotient ends, and rounds once at 40 places, half away from zero, when it does not', () => {
      expect(value('a / 8', { a: 1 })).toBe('0.125');
      expect(value('a / 3', { a: 1 })).toBe(`0.${'3'.repeat(40)}`);
      expect(value('a / 3', { a: 2 })).toBe(`0.${'6'.repeat(39)}7`);
      expect(value('a / 3', { a: -2 })).toBe(`-0.${'6'.repeat(39)}7`);
    });

    it('exactDivide rounds a tie away from zero (a half at the 41st place)', () => {
      const tiny = new ExactDecimal('1e-40');
      expect(exactDivide(tiny, new ExactDecimal(2)).toFixed()).toBe(tiny.toFixed());
      expect(exactDivide(tiny.negated(), new ExactDecimal(2)).toFixed()).toBe(tiny.negated().toFixed());
    });
  });

  describe('what is not a value (never read as 0)', () => {
    it.each([
      ['a + b', { a: 1 }, { ok: false, reason: 'missing_value', path: 'b' }],
      ['a + b', { a: 1, b: null }, { ok: false, reason: 'missing_value', path: 'b' }],
      ['a * 2', { a: 'lots' }, { ok: false, reason: 'not_a_number', path: 'a' }],
      ['a * 2', { a: '0x10' }, { ok: false, reason: 'not_a_number', path: 'a' }],
      ['a * 2', { a: true }, { ok: false, reason: 'not_a_number', path: 'a' }],
      ['a.b', { a: [{ b: 1 }] }, { ok: false, reason: 'missing_value', path: 'a.b' }],
      ['a / b', { a: 1, b: 0 }, { ok: false, reason: 'division_by_zero', path: 'b' }],
      // Bounded readings: 13 characters could otherwise ask for two billion digits.
      ['a * 2', { a: '1e2000000000' }, { ok: false, reason: 'not_a_number', path: 'a' }],
      ['a * 2', { a: '9'.repeat(65) }, { ok: false, reason: 'not_a_number', path: 'a' }],
    ])('%s over %j', (text, data, expected) => expect(value(text, data)).toEqual(expected));

    it('a property reading (valueProperty) keeps the same bounds', () => {
      const meter = { aggregation: 'SUM' as const, valueProperty: '$.a', groupBy: {} };
      expect(readMeter(meter, { a: '1e2000000000' })).toEqual({ ok: false, reason: 'not_a_number', path: '$.a' });
      expect(readMeter(meter, { a: '1e99' })).toMatchObject({ ok: true });
    });

    it('never reads an inherited property as a field', () =>
      expect(value('constructor * 1', {})).toEqual({ ok: false, reason: 'missing_value', path: 'constructor' }));
  });
});
