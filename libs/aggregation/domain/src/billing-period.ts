/** A billing period is a calendar month in the account's time zone, named `YYYY-MM`. */
const periodPattern = /^(\d{4})-(0[1-9]|1[0-2])$/;

export const isPeriod = (text: string): boolean => periodPattern.test(text);

/** The period an instant falls in, in a time zone. */
export const periodAt = (instant: Date, timeZone: string): string => {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit' }).formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}`;
};
