import Decimal from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { ExactDecimal } from './exact-decimal';

describe('ExactDecimal', () => {
  it('keeps every digit where decimal.js alone rounds to 20 significant digits', () => {
    // 12345678901234567890.000000001 + 0.1 = 12345678901234567890.100000001
    expect(new Decimal('12345678901234567890.000000001').plus('0.1').toFixed()).toBe('12345678901234567890');
    expect(new ExactDecimal('12345678901234567890.000000001').plus('0.1').toFixed()).toBe(
      '12345678901234567890.100000001',
    );
  });
});
