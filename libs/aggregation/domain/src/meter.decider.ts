import { isMeterEvent, MeterEvent } from '@tally/contracts/meters';
import { StreamDecider, unhandledEvent } from '@tally/shared/util-core';
import { changedGroupByKeys, Meter, MeterUpdate, sameMeterDefinition, updatedMeter } from './meter';
import { meterIdOf } from './meter-id';
import { refuse } from './errors';

/** A meter's stream (`meter-{tenant}_{slug}`) holds the published meter events (contracts/meters). */
export type { MeterEvent };

export type MeterCommand =
  | { type: 'CreateMeter'; data: Meter & { tenant: string }; metadata: { now: string } }
  | { type: 'UpdateMeter'; data: MeterUpdate & { tenant: string; slug: string }; metadata: { now: string } }
  | { type: 'DeleteMeter'; data: { tenant: string; slug: string }; metadata: { now: string } };

export type MeterState =
  { status: 'none' } | { status: 'active'; meter: Meter; id?: string; createdAt: string } | { status: 'deleted' };

export const initialMeter = (): MeterState => ({ status: 'none' });

export const evolveMeter = (_state: MeterState, event: MeterEvent): MeterState => {
  switch (event.type) {
    case 'MeterCreated': {
      const { tenant: _tenant, createdAt, id, ...meter } = event.data;
      return { status: 'active', meter, id, createdAt };
    }
    case 'MeterUpdated': {
      const { tenant: _tenant, createdAt, id, updatedAt: _updatedAt, ...meter } = event.data;
      return { status: 'active', meter, id, createdAt };
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
    case 'UpdateMeter': {
      if (state.status !== 'active') refuse('unknown_meter', `no meter ${command.data.slug}`, 'slug');
      const { tenant, slug: _slug, ...update } = command.data;
      const fixed = changedGroupByKeys(state.meter, update);
      if (fixed.length > 0)
        refuse(
          'group_by_fixed',
          `group-by keys may be added, not changed or removed (${fixed.join(', ')}): what a key reads is part of ` +
            'every number the meter has produced — create another meter instead',
          `groupBy.${fixed[0]}`,
        );
      const changed = updatedMeter(state.meter, update);
      if (sameMeterDefinition(changed, state.meter)) return [];
      const { createdAt, id } = state;
      const now = command.metadata.now;
      return [
        {
          type: 'MeterUpdated',
          data: { ...changed, tenant, id: id ?? meterIdOf(tenant, changed.slug, createdAt), createdAt, updatedAt: now },
        },
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
