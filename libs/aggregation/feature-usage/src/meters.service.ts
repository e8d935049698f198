import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { decideMeter, evolveMeter, initialMeter, Meter, MeterCommand, MeterEvent } from '@tally/aggregation/domain';
import { meterStream } from '@tally/contracts/meters';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';

/** Meters, event-sourced in the ledger (`meter-{tenant}_{slug}`); reads of one meter fold its stream. */
@Injectable()
export class MetersService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  private async load(slug: string) {
    const events = await this.runtime.eventStore.readStream(meterStream(this.runtime.tenant, slug));
    return {
      state: events
        .map((e) => ({ type: e.type, data: e.data }) as unknown as MeterEvent)
        .reduce(evolveMeter, initialMeter()),
      revision: events.at(-1)?.streamRevision,
    };
  }

  private async decide(slug: string, command: MeterCommand) {
    const { state, revision } = await this.load(slug);
    const events = decideMeter(command, state);
    if (events.length > 0) {
      await this.runtime.eventStore.appendToStream(
        meterStream(this.runtime.tenant, slug),
        events.map((e) => ({ id: randomUUID(), type: e.type, data: { ...e.data } })),
        { expectedRevision: revision ?? 'no_stream' },
      );
    }
    return {
      changed: events.length > 0,
      state: events.reduce(evolveMeter, state),
      created: events.find((e) => e.type === 'MeterCreated'),
    };
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
    const events = await this.runtime.eventStore.readStream(meterStream(this.runtime.tenant, slug));
    const state = events
      .map((e) => ({ type: e.type, data: e.data }) as unknown as MeterEvent)
      .reduce(evolveMeter, initialMeter());
    const created = [...events].reverse().find((e) => e.type === 'MeterCreated');
    return state.status === 'active'
      ? { id: state.meter.slug, ...state.meter, createdAt: (created?.data.createdAt as string) ?? null }
      : undefined;
  }
}
