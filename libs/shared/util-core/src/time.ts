/** RFC 3339 date-time with a mandatory offset, e.g. 2026-11-25T10:00:00.123Z or 2026-11-25T11:00:00+01:00. */
const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 timestamp; undefined when the text is not one or names an impossible date. */
export const parseRfc3339 = (text: string): Date | undefined => {
  const match = rfc3339.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number);
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return undefined;
  // Date.parse rolls 2026-02-30 over to March; refuse instead of guessing.
  const probe = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  return date;
};

export const floorToMinute = (instant: Date): Date => new Date(Math.floor(instant.getTime() / 60_000) * 60_000);

/** The UTC calendar month of an instant as `YYYY-MM`, used in ledger stream names. */
export const utcMonth = (instant: Date): string => instant.toISOString().slice(0, 7);
