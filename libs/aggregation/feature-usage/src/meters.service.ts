import { Inject, Injectable } from '@nestjs/common';
import { Meter, MeterCommand, meterDecider } from '@tally/aggregation/domain';
import { meterStream } from '@tally/contracts/meters';
import { aggregateStream, EventStore, handleCommand } from '@tally/shared/data-access-event-store';
import { Clock, CLOCK, EVENT_STORE, Tenancy } from '@tally/shared/feature-runtime';

/** Meters, event-sourced in the ledger (`meter-{tenant}_{slug}`); reads of one meter fold its stream. */
@Injectable()
export class MetersService {
  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
  ) {}

  private stream(slug: string) {
    return meterStream(this.tenancy.current, slug);
  }

  private async decide(slug: string, command: MeterCommand) {
    const { events } = await handleCommand(this.ledger, meterDecider, this.stream(slug), command);
    return { changed: events.length > 0 };
  }

  async create(meter: Meter) {
    const { changed } = await this.decide(meter.slug, {
      type: 'CreateMeter',
      data: { tenant: this.tenancy.current, ...meter },
      metadata: { now: this.clock().toISOString() },
    });
    return { created: changed, meter: await this.meter(meter.slug) };
  }

  async delete(slug: string): Promise<void> {
    await this.decide(slug, {
      type: 'DeleteMeter',
      data: { tenant: this.tenancy.current, slug },
      metadata: { now: this.clock().toISOString() },
    });
  }

  async meter(slug: string) {
    const { state, events } = await aggregateStream(this.ledger, meterDecider, this.stream(slug));
    const created = events.findLast((e) => e.type === 'MeterCreated');
    return state.status === 'active'
      ? {
          id: state.meter.slug,
          ...state.meter,
          createdAt: created?.type === 'MeterCreated' ? created.data.createdAt : null,
        }
      : undefined;
  }
}
