import { describe, expect, it } from 'vitest';
import { canonicalDecimal, invoiceTotal, isCurrency, minorUnits, roundMoney, sumAmounts } from './money';

describe('minorUnits', () => {
  it.each([
    ['USD', 2],
    ['EUR', 2],
    ['JPY', 0],
    ['KWD', 3],
    ['BHD', 3],
    // ISO 4217, not CLDR's display digits (Intl says IQD 0, HUF 0, ISK 0 … and changes with ICU versions)
    ['IQD', 3],
    ['HUF', 2],
    ['LBP', 2],
    ['ISK', 0],
  ])('%s has %i decimals', (currency, digits) => expect(minorUnits(currency)).toBe(digits));

  it('refuses a code that is no currency instead of guessing 2 decimals', () =>
    expect(() => minorUnits('XYZ')).toThrow(RangeError));
});

describe('isCurrency', () => {
  it.each([
    ['USD', true],
    ['JPY', true],
    // Intl.NumberFormat would format these with 2 decimals; they are still not currencies
    ['XYZ', false],
    ['usd', false],
    ['US', false],
    ['USDX', false],
    ['', false],
  ])('%j → %s', (code, expected) => expect(isCurrency(code)).toBe(expected));
});

describe('roundMoney: half-even, once, to the minor unit', () => {
  it.each([
    // a half goes to the even neighbour: 0.12|5 → 0.12 (2 is even), 0.13|5 → 0.14 (4 is even)
    ['0.125', 'USD', '0.12'],
    ['0.135', 'USD', '0.14'],
    ['0.005', 'USD', '0.00'],
    ['0.015', 'USD', '0.02'],
    ['-0.125', 'USD', '-0.12'],
    ['-0.135', 'USD', '-0.14'],
    // more than a half always goes up, less always down
    ['0.1250000000000000000001', 'USD', '0.13'],
    ['0.1249999999999999999999', 'USD', '0.12'],
    // a negative amount that rounds to zero is printed unsigned
    ['-0.004', 'USD', '0.00'],
    ['-0.005', 'USD', '0.00'],
    // exactly minorUnits decimals, padded
    ['1.25', 'USD', '1.25'],
    ['0', 'USD', '0.00'],
    ['-3.1', 'USD', '-3.10'],
    ['1.25275', 'USD', '1.25'],
    // JPY has no minor unit: 2.5 → 2 and 3.5 → 4 (both even)
    ['2.5', 'JPY', '2'],
    ['3.5', 'JPY', '4'],
    ['3', 'JPY', '3'],
    // KWD has three: 1.000|5 → 1.000 (0 is even)
    ['1.0005', 'KWD', '1.000'],
    ['1.0015', 'KWD', '1.002'],
  ])('%s %s → %s', (amount, currency, expected) => expect(roundMoney(amount, currency)).toBe(expected));
});

describe('sumAmounts', () => {
  it.each<[string[], string]>([
    [[], '0'],
    [['1.25', '0.00275'], '1.25275'],
    // 0.1 + 0.2 is 0.3 here, not 0.30000000000000004
    [['0.1', '0.2'], '0.3'],
    [['1.50', '2.50'], '4'],
    [['5', '-5'], '0'],
    [['-0.5', '0.25'], '-0.25'],
    // 20 significant digits + 0.1 stays exact (decimal.js' default precision would lose the 0.1)
    [['12345678901234567890', '0.1'], '12345678901234567890.1'],
    [['1e-30', '0'], '0.000000000000000000000000000001'],
  ])('%j sums to %s', (amounts, expected) => expect(sumAmounts(amounts)).toBe(expected));
});

describe('invoiceTotal', () => {
  it('rounds the exact sum once: lines are never rounded', () => {
    // 1000 lines of 0.004: rounded one by one they would total 0.00; summed first, 4.000 → 4.00
    expect(
      invoiceTotal(
        Array.from({ length: 1000 }, () => '0.004'),
        'USD',
      ),
    ).toBe('4.00');
  });

  it('rounds the Forge example half-even: 1.25 + 0.00275 = 1.25275 → 1.25', () =>
    expect(invoiceTotal(['1.25', '0.00275', '0', '0'], 'USD')).toBe('1.25'));

  it('is zero for no lines', () => expect(invoiceTotal([], 'JPY')).toBe('0'));
});

describe('canonicalDecimal', () => {
  it.each([
    ['1.50', '1.5'],
    ['001.000', '1'],
    ['.5', '0.5'],
    ['5.', '5'],
    ['0.000', '0'],
    ['-0', '0'],
    ['1e3', '1000'],
    ['1.5e-7', '0.00000015'],
    ['12345678901234567890.123456789000', '12345678901234567890.123456789'],
  ])('%s → %s', (text, expected) => expect(canonicalDecimal(text)).toBe(expected));
});
