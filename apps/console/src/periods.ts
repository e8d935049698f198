/**
 * Billing periods are named by the month they start in, in the account's time zone (docs/invoicing.md): the
 * period an instant falls in is its local month, or the month before when it is earlier than the anchor day.
 */
export const periodAt = (iso: string, timeZone: string, anchorDay = 1): string => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })
      .formatToParts(new Date(iso))
      .map((part) => [part.type, part.value]),
  );
  const year = Number(parts.year);
  const month = Number(parts.month);
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  // Beyond a month's length the anchor is its last day.
  return Number(parts.day) < Math.min(anchorDay, lastDay)
    ? shift(`${parts.year}-${parts.month}`, -1)
    : `${parts.year}-${parts.month}`;
};

/** A period label moved by whole months: shift('2026-01', -1) = '2025-12'. */
export const shift = (label: string, months: number): string => {
  const [year, month] = label.split('-').map(Number);
  const index = year * 12 + (month - 1) + months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
};

/** Every period from `last` back to `first`, newest first (at most `limit`, so a typo cannot list centuries). */
export const periodsBack = (last: string, first: string, limit = 120): string[] => {
  const periods: string[] = [];
  for (let label = last; label >= first && periods.length < limit; label = shift(label, -1)) periods.push(label);
  return periods;
};
