import { ChargeV1, isPlanEvent, PlanCreatedV1, PlanEvent, PlanRevisedV1 } from '@tally/contracts/plans';
import { canonicalJson, StreamDecider, unhandledEvent } from '@tally/shared/util-core';
import { refuse } from './errors';

/**
 * A price plan (`plan-{tenant}_{id}`): PlanCreated is version 1, in force from the beginning; each
 * PlanRevised a new version in force from an instant that is not in the past — a price change never
 * rewrites usage already rated.
 */
export interface PlanView {
  planId: string;
  name: string;
  currency: string;
  createdAt: string;
  versions: { version: number; effectiveFrom: string | null; charges: ChargeV1[]; at: string }[];
}

/** What the edge looked up: the indexes of charges whose meter does not exist (aggregation's, in the ledger). */
export interface MeterFacts {
  unknownMeters: { index: number; meter: string }[];
}

export type PlanCommand =
  | { type: 'CreatePlan'; data: PlanCreatedV1; metadata: MeterFacts }
  | { type: 'RevisePlan'; data: Omit<PlanRevisedV1, 'version'>; metadata: MeterFacts & { now: string } };

/** A charge must name a live meter: a typo would bill nothing, silently. */
const requireMeters = ({ unknownMeters }: MeterFacts) => {
  const [first] = unknownMeters;
  if (first)
    refuse(
      'charged_meter_unknown',
      `charges[${first.index}] names meter ${first.meter}, which does not exist (create it with POST /api/v1/meters first)`,
      `charges[${first.index}].meter`,
    );
};

export const decidePlan = (command: PlanCommand, plan: PlanView | null): PlanEvent[] => {
  switch (command.type) {
    case 'CreatePlan': {
      const { data } = command;
      requireMeters(command.metadata);
      if (!plan) return [{ type: 'PlanCreated', data }];
      const same =
        plan.name === data.name &&
        plan.currency === data.currency &&
        canonicalJson(plan.versions[0].charges) === canonicalJson(data.charges ?? []);
      if (same) return [];
      return refuse(
        'plan_exists',
        `plan ${data.planId} already exists with other details (change prices with POST /v1/plans/${data.planId}/versions)`,
        'id',
      );
    }
    case 'RevisePlan': {
      const { data, metadata } = command;
      if (!plan) return refuse('unknown_plan', `no plan ${data.planId}`, 'id');
      // The same revision sent again is answered with the existing version.
      const same = plan.versions.find(
        (v) => v.effectiveFrom === data.effectiveFrom && canonicalJson(v.charges) === canonicalJson(data.charges),
      );
      if (same) return [];
      requireMeters(metadata);
      if (Date.parse(data.effectiveFrom) < Date.parse(metadata.now))
        refuse(
          'effective_from_in_past',
          `effectiveFrom ${data.effectiveFrom} is in the past: prices of usage already recorded are never changed`,
          'effectiveFrom',
        );
      const latest = plan.versions[plan.versions.length - 1];
      if (latest.effectiveFrom !== null && Date.parse(data.effectiveFrom) <= Date.parse(latest.effectiveFrom))
        refuse(
          'plan_version_out_of_order',
          `version ${latest.version} takes effect at ${latest.effectiveFrom}; a new version must take effect after it`,
          'effectiveFrom',
        );
      return [{ type: 'PlanRevised', data: { ...data, version: latest.version + 1 } }];
    }
  }
};

export const evolvePlan = (plan: PlanView | null, event: PlanEvent): PlanView | null => {
  switch (event.type) {
    case 'PlanCreated': {
      const created = event.data;
      return {
        planId: created.planId,
        name: created.name,
        currency: created.currency,
        createdAt: created.createdAt,
        versions: [{ version: 1, effectiveFrom: null, charges: created.charges ?? [], at: created.createdAt }],
      };
    }
    case 'PlanRevised': {
      if (!plan) return plan;
      const r = event.data;
      return {
        ...plan,
        versions: [
          ...plan.versions,
          { version: r.version, effectiveFrom: r.effectiveFrom, charges: r.charges, at: r.revisedAt },
        ],
      };
    }
    default:
      return unhandledEvent(event);
  }
};

export const planDecider: StreamDecider<PlanCommand, PlanEvent, PlanView | null> = {
  decide: decidePlan,
  evolve: evolvePlan,
  initialState: () => null,
  events: isPlanEvent,
};
