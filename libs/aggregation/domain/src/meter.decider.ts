import { isMeterEvent, MeterEvent } from '@tally/contracts/meters';
import { StreamDecider, unhandledEvent } from '@tally/shared/util-core';
import { Meter, sameMeterDefinition } from './meter';
import { meterIdOf } from './meter-id';
import { refuse } from './errors';

/** A meter's stream (`meter-{tenant}_{slug}`) holds the published meter events (contracts/meters). */
export type { MeterEvent };

export type MeterCommand =
  | { type: 'CreateMeter'; data: Meter & { tenant: string }; metadata: { now: string } }
  | { type: 'DeleteMeter'; data: { tenant: string; slug: string }; metadata: { now: string } };

export type MeterState = { status: 'none' } | { status: 'active'; meter: Meter } | { status: 'deleted' };

export const initialMeter = (): MeterState => ({ status: 'none' });

export const evolveMeter = (_state: MeterState, event: MeterEvent): MeterState => {
  switch (event.type) {
    case 'MeterCreated': {
      const { tenant: _tenant, createdAt: _createdAt, id: _id, ...meter } = event.data;
      return { status: 'active', meter };
    }
    case 'MeterDeleted':
      return { status: 'deleted' };
    default:
      return unhandledEvent(event);
  }
};

/**
 * A meter is immutable once created (its slug and what it aggregates define every number it has
 * produced): creating it again with the same definition is a no-op, with another is refused. Deleting
 * stops it; the slug may then be used again.
 */
export const decideMeter = (command: MeterCommand, state: MeterState): MeterEvent[] => {
  switch (command.type) {
    case 'CreateMeter': {
      const { tenant, ...meter } = command.data;
      if (state.status === 'active') {
        if (sameMeterDefinition(state.meter, meter)) return [];
        refuse(
          'meter_exists',
          `meter ${meter.slug} exists with another definition; a meter is immutable — delete it and create it again`,
          'slug',
        );
      }
      const { now } = command.metadata;
      return [
        { type: 'MeterCreated', data: { ...command.data, id: meterIdOf(tenant, meter.slug, now), createdAt: now } },
      ];
    }
    case 'DeleteMeter':
      if (state.status !== 'active') refuse('unknown_meter', `no meter ${command.data.slug}`, 'slug');
      return [{ type: 'MeterDeleted', data: { ...command.data, deletedAt: command.metadata.now } }];
    default: {
      const _never: never = command;
      refuse('unknown_command', 'unknown command');
    }
  }
};

export const meterDecider: StreamDecider<MeterCommand, MeterEvent, MeterState> = {
  decide: decideMeter,
  evolve: evolveMeter,
  initialState: initialMeter,
  events: isMeterEvent,
};
