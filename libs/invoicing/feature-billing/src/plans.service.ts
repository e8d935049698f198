import { Inject, Injectable } from '@nestjs/common';
import { meterCreatedType, meterStream } from '@tally/contracts/meters';
import { ChargeV1, planStream } from '@tally/contracts/plans';
import { MeterFacts, PlanCommand, planDecider, PlanView } from '@tally/invoicing/domain';
import { aggregateStream, handleCommand } from '@tally/shared/data-access-event-store';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';

export type { PlanView };

/** Price plans, event-sourced in `plan-{tenant}_{id}` and decided by the plan decider (libs/invoicing/domain). */
@Injectable()
export class PlansService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  private async decide(planId: string, command: PlanCommand) {
    const stream = planStream(this.runtime.tenant, planId);
    const { events, state } = await handleCommand(this.runtime.eventStore, planDecider, stream, command);
    return { created: events.length > 0, plan: state as PlanView };
  }

  async create(data: { planId: string; name: string; currency: string; charges: ChargeV1[] }) {
    const now = this.runtime.clock().toISOString();
    return this.decide(data.planId, {
      type: 'CreatePlan',
      data: { tenant: this.runtime.tenant, ...data, createdAt: now },
      metadata: await this.meterFacts(data.charges),
    });
  }

  /** A new version from `effectiveFrom` on; the same revision sent again is answered with the existing version. */
  async revise(planId: string, data: { effectiveFrom: string; charges: ChargeV1[] }) {
    const now = this.runtime.clock().toISOString();
    return this.decide(planId, {
      type: 'RevisePlan',
      data: { tenant: this.runtime.tenant, planId, ...data, revisedAt: now },
      metadata: { ...(await this.meterFacts(data.charges)), now },
    });
  }

  async plan(planId: string): Promise<PlanView | undefined> {
    const { state } = await aggregateStream(
      this.runtime.eventStore,
      planDecider,
      planStream(this.runtime.tenant, planId),
    );
    return state ?? undefined;
  }

  /** Which charges name a meter that is not live in the ledger (aggregation's, published there). */
  private async meterFacts(charges: readonly ChargeV1[]): Promise<MeterFacts> {
    const unknownMeters: MeterFacts['unknownMeters'] = [];
    for (const [index, charge] of charges.entries()) {
      const events = await this.runtime.eventStore.readStream(meterStream(this.runtime.tenant, charge.meter));
      if (events.at(-1)?.type !== meterCreatedType) unknownMeters.push({ index, meter: charge.meter });
    }
    return { unknownMeters };
  }
}
