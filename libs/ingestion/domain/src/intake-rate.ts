/** The windows intake's rate is given over, newest first; each ends at the moment asked ("at"). */
export const intakeWindows = [
  { name: 'lastMinute', seconds: 60 },
  { name: 'last15Minutes', seconds: 15 * 60 },
  { name: 'lastHour', seconds: 60 * 60 },
] as const;

export type IntakeWindowName = (typeof intakeWindows)[number]['name'];

export interface IntakeWindowRate {
  accepted: number;
  /** Accepted ÷ the window's seconds, one decimal place, half up: "0.1" is one event every ten seconds. */
  perSecond: string;
}

/**
 * Events per second with one decimal, exact: in tenths, (accepted × 10 ÷ seconds) rounded half up —
 * 1 in 60 s: 10 ÷ 60 = 0.166… tenths → "0.0"; 3 in 60 s: 0.5 tenths → "0.1"; 90 in 60 s: 15 tenths → "1.5".
 */
export const perSecond = (accepted: bigint, seconds: number): string => {
  const span = BigInt(seconds);
  const tenths = (accepted * 20n + span) / (2n * span);
  return `${tenths / 10n}.${tenths % 10n}`;
};

/** The answer of GET /v1/admin/intake from the counts of each window (bigints, as Postgres gives them). */
export const intakeRate = (counts: Record<IntakeWindowName, bigint>): Record<IntakeWindowName, IntakeWindowRate> =>
  Object.fromEntries(
    intakeWindows.map(({ name, seconds }) => [
      name,
      { accepted: Number(counts[name]), perSecond: perSecond(counts[name], seconds) },
    ]),
  ) as Record<IntakeWindowName, IntakeWindowRate>;
