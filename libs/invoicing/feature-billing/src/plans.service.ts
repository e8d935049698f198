import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { meterCreatedType, meterStream } from '@tally/contracts/meters';
import {
  ChargeV1,
  PlanCreatedV1,
  planCreatedType,
  PlanRevisedV1,
  planRevisedType,
  planStream,
} from '@tally/contracts/plans';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { canonicalJson, DomainError } from '@tally/shared/util-core';

export interface PlanView {
  planId: string;
  name: string;
  currency: string;
  createdAt: string;
  versions: { version: number; effectiveFrom: string | null; charges: ChargeV1[]; at: string }[];
}

/**
 * Price plans, event-sourced in `plan-{tenant}_{id}`: PlanCreated is version 1 (in force from the
 * beginning), each PlanRevised a new version in force from an instant that is not in the past — a
 * price change never rewrites usage already rated.
 */
@Injectable()
export class PlansService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  async create(data: { planId: string; name: string; currency: string; charges: ChargeV1[] }) {
    await this.requireMeters(data.charges);
    const existing = await this.plan(data.planId);
    if (existing) {
      const first = existing.versions[0];
      if (
        existing.name === data.name &&
        existing.currency === data.currency &&
        canonicalJson(first.charges) === canonicalJson(data.charges)
      )
        return { created: false, plan: existing };
      throw new DomainError(
        'plan_exists',
        `plan ${data.planId} already exists with other details (change prices with POST /v1/plans/${data.planId}/versions)`,
        'id',
      );
    }
    const created: PlanCreatedV1 = {
      tenant: this.runtime.tenant,
      ...data,
      createdAt: this.runtime.clock().toISOString(),
    };
    await this.runtime.eventStore.appendToStream(
      planStream(this.runtime.tenant, data.planId),
      [{ id: randomUUID(), type: planCreatedType, data: { ...created } }],
      {
        expectedRevision: 'no_stream',
      },
    );
    return { created: true, plan: (await this.plan(data.planId)) as PlanView };
  }

  /** A new version from `effectiveFrom` on; the same revision sent again is answered with the existing version. */
  async revise(planId: string, data: { effectiveFrom: string; charges: ChargeV1[] }) {
    const events = await this.runtime.eventStore.readStream(planStream(this.runtime.tenant, planId));
    const plan = fold(events);
    if (!plan) throw new DomainError('unknown_plan', `no plan ${planId}`, 'id');
    const same = plan.versions.find(
      (v) => v.effectiveFrom === data.effectiveFrom && canonicalJson(v.charges) === canonicalJson(data.charges),
    );
    if (same) return { created: false, plan };
    await this.requireMeters(data.charges);
    const now = this.runtime.clock();
    if (Date.parse(data.effectiveFrom) < now.getTime())
      throw new DomainError(
        'effective_from_in_past',
        `effectiveFrom ${data.effectiveFrom} is in the past: prices of usage already recorded are never changed`,
        'effectiveFrom',
      );
    const latest = plan.versions[plan.versions.length - 1];
    if (latest.effectiveFrom !== null && Date.parse(data.effectiveFrom) <= Date.parse(latest.effectiveFrom))
      throw new DomainError(
        'plan_version_out_of_order',
        `version ${latest.version} takes effect at ${latest.effectiveFrom}; a new version must take effect after it`,
        'effectiveFrom',
      );
    const revised: PlanRevisedV1 = {
      tenant: this.runtime.tenant,
      planId,
      version: latest.version + 1,
      effectiveFrom: data.effectiveFrom,
      charges: data.charges,
      revisedAt: now.toISOString(),
    };
    await this.runtime.eventStore.appendToStream(
      planStream(this.runtime.tenant, planId),
      [{ id: randomUUID(), type: planRevisedType, data: { ...revised } }],
      {
        expectedRevision: BigInt(events.length - 1),
      },
    );
    return { created: true, plan: (await this.plan(planId)) as PlanView };
  }

  async plan(planId: string): Promise<PlanView | undefined> {
    return fold(await this.runtime.eventStore.readStream(planStream(this.runtime.tenant, planId)));
  }

  /** A charge must name a live meter (aggregation's, published in the ledger): a typo would bill nothing, silently. */
  private async requireMeters(charges: readonly ChargeV1[]): Promise<void> {
    for (const [index, charge] of charges.entries()) {
      const events = await this.runtime.eventStore.readStream(meterStream(this.runtime.tenant, charge.meter));
      if (events[events.length - 1]?.type !== meterCreatedType)
        throw new DomainError(
          'charged_meter_unknown',
          `charges[${index}] names meter ${charge.meter}, which does not exist (create it with POST /api/v1/meters first)`,
          `charges[${index}].meter`,
        );
    }
  }
}

const fold = (events: readonly { type: string; data: Record<string, unknown> }[]): PlanView | undefined => {
  const [first, ...rest] = events;
  if (first?.type !== planCreatedType) return undefined;
  const created = first.data as unknown as PlanCreatedV1;
  return {
    planId: created.planId,
    name: created.name,
    currency: created.currency,
    createdAt: created.createdAt,
    versions: [
      { version: 1, effectiveFrom: null, charges: created.charges ?? [], at: created.createdAt },
      ...rest
        .filter((e) => e.type === planRevisedType)
        .map((e) => e.data as unknown as PlanRevisedV1)
        .map((r) => ({ version: r.version, effectiveFrom: r.effectiveFrom, charges: r.charges, at: r.revisedAt })),
    ],
  };
};
