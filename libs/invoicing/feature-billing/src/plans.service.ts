import { Inject, Injectable } from '@nestjs/common';
import { meterCreatedType, meterStream, meterUpdatedType } from '@tally/contracts/meters';
import { ChargeV1, planStream } from '@tally/contracts/plans';
import { MeterFacts, PlanCommand, planDecider, PlanView } from '@tally/invoicing/domain';
import { aggregateStream, EventStore, handleCommand } from '@tally/shared/data-access-event-store';
import { Clock, CLOCK, EVENT_STORE, Tenancy } from '@tally/shared/feature-runtime';
import { DataSource } from 'typeorm';
import { BillingRegistryTables } from '@tally/invoicing/data-access-billing';
import { BILLING_REGISTRY_TABLES, INVOICING_DB } from './tokens';

export type { PlanView };

/** Price plans, event-sourced in `plan-{tenant}_{id}` and decided by the plan decider (libs/invoicing/domain). */
@Injectable()
export class PlansService {
  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(BILLING_REGISTRY_TABLES) private readonly registry: BillingRegistryTables,
  ) {}

  private async decide(planId: string, command: PlanCommand) {
    const stream = planStream(this.tenancy.current, planId);
    const { events, state } = await handleCommand(this.ledger, planDecider, stream, command);
    return { created: events.length > 0, plan: state as PlanView };
  }

  async create(data: { planId: string; name: string; currency: string; charges: ChargeV1[] }) {
    const now = this.clock().toISOString();
    return this.decide(data.planId, {
      type: 'CreatePlan',
      data: { tenant: this.tenancy.current, ...data, createdAt: now },
      metadata: await this.meterFacts(data.charges),
    });
  }

  /** A new version from `effectiveFrom` on; the same revision sent again is answered with the existing version. */
  async revise(planId: string, data: { effectiveFrom: string; charges: ChargeV1[] }) {
    const now = this.clock().toISOString();
    return this.decide(planId, {
      type: 'RevisePlan',
      data: { tenant: this.tenancy.current, planId, ...data, revisedAt: now },
      metadata: { ...(await this.meterFacts(data.charges)), now },
    });
  }

  async plan(planId: string): Promise<PlanView | undefined> {
    const { state } = await aggregateStream(this.ledger, planDecider, planStream(this.tenancy.current, planId));
    return state ?? undefined;
  }

  /**
   * A page of the tenant's plans by id, and the id to continue after when more remain. The ids come from the billing registry (a
   * projection: a plan just created is listed once it has applied it); each plan is folded from its stream, as
   * `plan(id)` answers it (its creation and publishing times live there, not in the registry).
   */
  async page(limit: number, after?: string): Promise<{ plans: PlanView[]; next: string | null }> {
    const ids = await this.registry.planIds(this.db, this.tenancy.current, limit + 1, after);
    const plans = await Promise.all(ids.slice(0, limit).map((id) => this.plan(id)));
    // `next` only when a plan follows: a last page that happens to be full says so.
    const next = ids.length > limit ? ids[limit - 1] : null;
    return { plans: plans.filter((p): p is PlanView => p !== undefined), next };
  }

  /** Which charges name a meter that is not live in the ledger (aggregation's, published there). */
  private async meterFacts(charges: readonly ChargeV1[]): Promise<MeterFacts> {
    const unknownMeters: MeterFacts['unknownMeters'] = [];
    for (const [index, charge] of charges.entries()) {
      const events = await this.ledger.readStream(meterStream(this.tenancy.current, charge.meter));
      // Live: created (and maybe updated since), not deleted after.
      const last = events.at(-1)?.type;
      if (last !== meterCreatedType && last !== meterUpdatedType) unknownMeters.push({ index, meter: charge.meter });
    }
    return { unknownMeters };
  }
}
