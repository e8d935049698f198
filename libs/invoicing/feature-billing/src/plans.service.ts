import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { PlanCreatedV1, planCreatedType, planStream } from '@tally/contracts/plans';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { DomainError } from '@tally/shared/util-core';

/**
 * Price plans, as far as subscriptions need them today: an id, a name, a currency. Prices, tiers and
 * rating come with invoicing proper (issue 6) as further events on the same stream.
 */
@Injectable()
export class PlansService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  async create(data: { planId: string; name: string; currency: string }) {
    const stream = planStream(this.runtime.tenant, data.planId);
    const existing = await this.plan(data.planId);
    if (existing) {
      if (existing.name === data.name && existing.currency === data.currency) return { created: false, plan: existing };
      throw new DomainError('plan_exists', `plan ${data.planId} already exists with other details`, 'id');
    }
    const created: PlanCreatedV1 = { tenant: this.runtime.tenant, ...data, createdAt: this.runtime.clock().toISOString() };
    await this.runtime.eventStore.appendToStream(stream, [{ id: randomUUID(), type: planCreatedType, data: { ...created } }], { expectedRevision: 'no_stream' });
    return { created: true, plan: created };
  }

  async plan(planId: string): Promise<PlanCreatedV1 | undefined> {
    const [first] = await this.runtime.eventStore.readStream(planStream(this.runtime.tenant, planId), { maxCount: 1 });
    return first?.type === planCreatedType ? (first.data as unknown as PlanCreatedV1) : undefined;
  }
}
