import type { Charge } from './charge';

/** A plan's versions, oldest first; version 1 has no effectiveFrom (in force from the beginning). */
export interface PlanHistory {
  planId: string;
  currency: string;
  versions: { version: number; effectiveFrom: string | null; charges: Charge[] }[];
}

export interface SubscriptionTimeline {
  subscriptionId: string;
  startsAt: string;
  /** Exclusive; null = open-ended. */
  endsAt: string | null;
  /** Plan in force from each instant on, ordered. */
  plans: { planId: string; from: string }[];
}

export interface PlanSegment {
  from: string;
  to: string;
  planId: string;
  planVersion: number;
}

const ms = (iso: string) => Date.parse(iso);

const planIdAt = (s: SubscriptionTimeline, t: number): string => {
  let planId = s.plans[0].planId;
  for (const p of s.plans) if (ms(p.from) <= t) planId = p.planId;
  return planId;
};

export const versionAt = (plan: PlanHistory, t: number): PlanHistory['versions'][number] => {
  let current = plan.versions[0];
  for (const v of plan.versions) if (v.effectiveFrom === null || ms(v.effectiveFrom) <= t) current = v;
  return current;
};

/**
 * The parts of a billing period a subscription was active in, cut wherever its plan changed or its plan's
 * prices changed (a new version): each part is rated with the plan version in force in it, so usage keeps
 * the price it had when it happened. A subscription that starts or ends inside the period has only that part.
 */
export const planSegments = (
  subscription: SubscriptionTimeline,
  period: { start: string; end: string },
  plans: ReadonlyMap<string, PlanHistory>,
): PlanSegment[] => {
  const from = Math.max(ms(subscription.startsAt), ms(period.start));
  const to = Math.min(subscription.endsAt === null ? Infinity : ms(subscription.endsAt), ms(period.end));
  if (!(from < to)) return [];
  const cuts = new Set<number>([from]);
  for (const p of subscription.plans) if (ms(p.from) > from && ms(p.from) < to) cuts.add(ms(p.from));
  for (const plan of plans.values())
    for (const v of plan.versions)
      if (v.effectiveFrom !== null && ms(v.effectiveFrom) > from && ms(v.effectiveFrom) < to)
        cuts.add(ms(v.effectiveFrom));
  const starts = [...cuts].sort((a, b) => a - b);
  const segments: PlanSegment[] = [];
  starts.forEach((start, i) => {
    const end = starts[i + 1] ?? to;
    const planId = planIdAt(subscription, start);
    const plan = plans.get(planId);
    if (!plan) throw new Error(`plan ${planId} of subscription ${subscription.subscriptionId} is unknown`);
    const planVersion = versionAt(plan, start).version;
    const last = segments[segments.length - 1];
    if (last && last.planId === planId && last.planVersion === planVersion) last.to = new Date(end).toISOString();
    else segments.push({ from: new Date(start).toISOString(), to: new Date(end).toISOString(), planId, planVersion });
  });
  return segments;
};
