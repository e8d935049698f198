/**
 * The little arithmetic the console does on the API's exact decimal strings (a share of an allowance or a limit,
 * a sum of lines), in BigInt so that no decimal passes through a float: 0.1 + 0.2 is 0.3 here.
 */
interface Scaled {
  digits: bigint;
  scale: number;
}

const scaledOf = (value: string): Scaled => {
  const negative = value.trim().startsWith('-');
  const [whole, fraction = ''] = value.trim().replace(/^[-+]/, '').split('.');
  const digits = BigInt(`${whole || '0'}${fraction}`);
  return { digits: negative ? -digits : digits, scale: fraction.length };
};

/** Both at the larger scale, so their digits compare and add as integers. */
const aligned = (a: string, b: string): [bigint, bigint, number] => {
  const x = scaledOf(a);
  const y = scaledOf(b);
  const scale = Math.max(x.scale, y.scale);
  return [x.digits * 10n ** BigInt(scale - x.scale), y.digits * 10n ** BigInt(scale - y.scale), scale];
};

const textOf = (digits: bigint, scale: number): string => {
  const sign = digits < 0n ? '-' : '';
  const text = (digits < 0n ? -digits : digits).toString().padStart(scale + 1, '0');
  if (scale === 0) return `${sign}${text}`;
  const fraction = text.slice(-scale).replace(/0+$/, '');
  return `${sign}${text.slice(0, -scale)}${fraction ? `.${fraction}` : ''}`;
};

/** The exact sum: sumOf(['0.1', '0.2']) = '0.3'. Linear: every value scaled once, the text written once. */
export const sumOf = (values: readonly string[]): string => {
  const scaled = values.map(scaledOf);
  const scale = scaled.reduce((most, value) => Math.max(most, value.scale), 0);
  const total = scaled.reduce((sum, value) => sum + value.digits * 10n ** BigInt(scale - value.scale), 0n);
  return textOf(total, scale);
};

/** a − b, exactly. */
export const difference = (a: string, b: string): string => {
  const [x, y, scale] = aligned(a, b);
  return textOf(x - y, scale);
};

/** used ÷ of in percent, truncated to one decimal ("125.0"); undefined when `of` is zero (nothing to measure against). */
export const percentOf = (used: string, of: string): string | undefined => {
  const [u, o] = aligned(used, of);
  if (o === 0n) return undefined;
  return textOf((u * 1000n) / o, 1).replace(/^(-?\d+)$/, '$1.0');
};

/** Whether `used` has reached `threshold` % of `limit` (used × 100 ≥ limit × threshold, in integers). */
export const reaches = (used: string, limit: string, threshold: number): boolean => {
  const [u, l] = aligned(used, limit);
  return u * 100n >= l * BigInt(threshold);
};

/** a > b, exactly (a share rounded for display can hide it: 200,050 of 200,000 shows 100.0 %). */
export const exceeds = (a: string, b: string): boolean => {
  const [x, y] = aligned(a, b);
  return x > y;
};
