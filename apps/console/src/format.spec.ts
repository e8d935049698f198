import { describe, expect, it } from 'vitest';
import { formatInstant, formatMoney, formatQuantity, localeOf } from './format';

describe('formatting exact decimals', () => {
  it.each([
    // grouping, and every digit of a decimal beyond a float's 15–17 significant digits
    { value: '250000', shown: '250,000' },
    { value: '0.15', shown: '0.15' },
    { value: '12345678901234567890.123456789', shown: '12,345,678,901,234,567,890.123456789' },
  ])('shows the quantity $value as $shown', ({ value, shown }) => expect(formatQuantity(value, 'en-US')).toBe(shown));

  it.each([
    // a total arrives rounded to cents: shown with both
    { value: '2.5', currency: 'USD', shown: '$2.50' },
    // a line's precise amount keeps its digits: (0.15 − 0.1 free) GB × 0.055 = 0.00275
    { value: '0.00275', currency: 'USD', shown: '$0.00275' },
    // a currency without a minor unit
    { value: '1200', currency: 'JPY', shown: '¥1,200' },
  ])('shows $value $currency as $shown', ({ value, currency, shown }) =>
    expect(formatMoney(value, currency, 'en-US')).toBe(shown),
  );

  it('shows an instant in the account’s time zone', () => {
    expect(formatInstant('2026-07-01T00:00:00Z', 'UTC', 'en-US')).toBe('Jul 1, 2026, 12:00 AM UTC');
    expect(formatInstant('2026-07-01T00:00:00Z', 'Asia/Tokyo', 'en-US')).toBe('Jul 1, 2026, 09:00 AM GMT+9');
  });

  it('shows an account’s amounts in the account’s locale, whoever looks at it', () => {
    const locale = localeOf({ locale: 'de-DE' });
    expect(locale).toBe('de-DE');
    // German: a decimal comma, the sign after the amount (a no-break space between)
    expect(formatMoney('1.25', 'EUR', locale)).toBe('1,25\u00a0€');
    expect(formatQuantity('250000', locale)).toBe('250.000');
  });
});
