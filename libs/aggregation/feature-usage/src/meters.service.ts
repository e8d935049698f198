import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Meter, MeterCommand, meterDecider, meterIdOf, meterIdPattern, MeterUpdate } from '@tally/aggregation/domain';
import { MeterTables } from '@tally/aggregation/data-access-usage';
import { meterStream } from '@tally/contracts/meters';
import { aggregateStream, EventStore, handleCommand } from '@tally/shared/data-access-event-store';
import { Clock, CLOCK, EVENT_STORE, Tenancy } from '@tally/shared/feature-runtime';
import { AGGREGATION_DB, METER_TABLES } from './tokens';

/** A live meter as read: its definition, its id (a ULID) and when it was created. */
export type MeterRecord = Meter & { id: string; createdAt: string; updatedAt?: string; deletedAt?: string };

/** Meters, event-sourced in the ledger (`meter-{tenant}_{slug}`); reads of one meter fold its stream. */
@Injectable()
export class MetersService {
  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(METER_TABLES) private readonly tables: MeterTables,
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

  /** Applies OpenMeter's MeterUpdate (name, description, metadata, new group-by keys); the meter as it is after. */
  async update(slug: string, update: MeterUpdate): Promise<MeterRecord | undefined> {
    await this.decide(slug, {
      type: 'UpdateMeter',
      data: { tenant: this.tenancy.current, slug, ...update },
      metadata: { now: this.clock().toISOString() },
    });
    return this.meter(slug);
  }

  async delete(slug: string): Promise<void> {
    await this.decide(slug, {
      type: 'DeleteMeter',
      data: { tenant: this.tenancy.current, slug },
      metadata: { now: this.clock().toISOString() },
    });
  }

  /** The live meter with this slug, read from its stream (so a meter just created is there at once). */
  async meter(slug: string): Promise<MeterRecord | undefined> {
    const { state, events } = await aggregateStream(this.ledger, meterDecider, this.stream(slug));
    if (state.status !== 'active') return undefined;
    const { createdAt, id } = state;
    const updated = events.at(-1)?.type === 'MeterUpdated' ? events.at(-1) : undefined;
    return {
      ...state.meter,
      id: id ?? meterIdOf(this.tenancy.current, slug, createdAt),
      createdAt,
      ...(updated?.type === 'MeterUpdated' && { updatedAt: updated.data.updatedAt }),
    };
  }

  /**
   * The live meter with this id or slug, as OpenMeter addresses meters (`{meterIdOrSlug}`): an id is looked
   * up among the live meters (the catalogue), a slug in its stream.
   */
  async find(idOrSlug: string): Promise<MeterRecord | undefined> {
    if (meterIdPattern.test(idOrSlug)) {
      const id = idOrSlug.toUpperCase();
      // The catalogue turns the id into a slug; the meter itself is read from its stream (the catalogue follows
      // the ledger a moment behind: a meter just created, updated or deleted and created again is as it is now).
      const slug = (await this.list()).find((m) => m.id === id)?.slug ?? (await this.slugInLedger(id));
      const meter = slug === undefined ? undefined : await this.meter(slug);
      if (meter?.id === id) return meter;
    }
    return this.meter(idOrSlug);
  }

  /** The slug a meter id was created under, from the ledger's MeterCreated events (meters are few). */
  private async slugInLedger(id: string): Promise<string | undefined> {
    const tenant = this.tenancy.current;
    let after: bigint | undefined;
    for (;;) {
      const page = await this.ledger.readAll({ eventTypes: ['MeterCreated'], after, maxCount: 1_000 });
      for (const event of page) {
        const data = event.data as { tenant: string; slug: string; id?: string; createdAt: string };
        if (data.tenant === tenant && (data.id ?? meterIdOf(tenant, data.slug, data.createdAt)) === id)
          return data.slug;
      }
      if (page.length < 1_000) return undefined;
      after = page[page.length - 1].globalPosition;
    }
  }

  /**
   * The live meters (and the deleted ones, if asked) by slug, with their ids (events from before ids were kept
   * get the derived one).
   */
  async list(includeDeleted = false): Promise<MeterRecord[]> {
    const tenant = this.tenancy.current;
    return (await this.tables.list(this.db, tenant, includeDeleted)).map((m) => ({
      ...m,
      id: (m as { id?: string }).id ?? meterIdOf(tenant, m.slug, m.createdAt),
    }));
  }
}
