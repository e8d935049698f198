import { ExactDecimal as Decimal } from '@tally/shared/util-core';
import { exactDivide } from './value-expression';

/**
 * Time-weighted meters (TIME_WEIGHTED_SUM), read the same way by aggregation's SQL (meter-query.tables.ts
 * `fromLevels`) and by this twin (reconciliation): a report sets its subject's level; the level holds until
 * the subject's next report (in time order, ties by usage id) or the end of the range; the value is
 * Σ level × hours. A report that is not a value (missing or non-numeric) sets nothing; a voided one never
 * happened. Σ level × seconds is exact; dividing by 3,600 rounds at 40 places only when the hours do not end.
 */
export interface LevelReport<T = unknown> {
  usageId: string;
  subject: string;
  /** RFC 3339 instant. */
  time: string;
  /** The reading (decimal text), or null when the report is not a value. */
  level: string | null;
  /** What the caller needs back (its account, group value, …). */
  of: T;
}

export interface LevelSpan<T> {
  report: LevelReport<T>;
  /** Exact seconds of [from, to) during which the report's level held. */
  seconds: InstanceType<typeof Decimal>;
}

/** The part of [from, to) each report's level held for (reports that held for none are left out). */
export const levelSpans = <T>(reports: readonly LevelReport<T>[], from: Date, to: Date): LevelSpan<T>[] => {
  const bySubject = new Map<string, LevelReport<T>[]>();
  for (const report of reports) {
    if (report.level === null) continue;
    const list = bySubject.get(report.subject) ?? [];
    list.push(report);
    bySubject.set(report.subject, list);
  }
  const spans: LevelSpan<T>[] = [];
  const start = from.getTime();
  const end = to.getTime();
  for (const list of bySubject.values()) {
    const ordered = [...list].sort((a, b) => {
      const at = Date.parse(a.time) - Date.parse(b.time);
      return at !== 0 ? at : a.usageId < b.usageId ? -1 : a.usageId > b.usageId ? 1 : 0;
    });
    ordered.forEach((report, index) => {
      const next = ordered[index + 1];
      const held = Math.min(next ? Date.parse(next.time) : end, end) - Math.max(Date.parse(report.time), start);
      if (held > 0) spans.push({ report, seconds: new Decimal(held).dividedBy(1000) });
    });
  }
  return spans;
};

/** Σ level × hours of some spans (already chosen: one account, one group), as canonical decimal text. */
export const levelHours = (spans: readonly LevelSpan<unknown>[]): string =>
  exactDivide(
    spans.reduce((sum, span) => sum.plus(new Decimal(span.report.level as string).times(span.seconds)), new Decimal(0)),
    new Decimal(3600),
  ).toFixed();
