import { Inject, Injectable } from '@nestjs/common';
import { Meter, MeterCommand, meterDecider } from '@tally/aggregation/domain';
import { meterStream } from '@tally/contracts/meters';
import { aggregateStream, handleCommand } from '@tally/shared/data-access-event-store';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';

/** Meters, event-sourced in the ledger (`meter-{tenant}_{slug}`); reads of one meter fold its stream. */
@Injectable()
export class MetersService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  private stream(slug: string) {
    return meterStream(this.runtime.tenant, slug);
  }

  private async decide(slug: string, command: MeterCommand) {
    const { events } = await handleCommand(this.runtime.eventStore, meterDecider, this.stream(slug), command);
    return { changed: events.length > 0 };
  }

  async create(meter: Meter) {
    const { changed } = await this.decide(meter.slug, {
      type: 'CreateMeter',
      data: { tenant: this.runtime.tenant, ...meter },
      metadata: { now: this.runtime.clock().toISOString() },
    });
    return { created: changed, meter: await this.meter(meter.slug) };
  }

  async delete(slug: string): Promise<void> {
    await this.decide(slug, {
      type: 'DeleteMeter',
      data: { tenant: this.runtime.tenant, slug },
      metadata: { now: this.runtime.clock().toISOString() },
    });
  }

  async meter(slug: string) {
    const { state, events } = await aggregateStream(this.runtime.eventStore, meterDecider, this.stream(slug));
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
