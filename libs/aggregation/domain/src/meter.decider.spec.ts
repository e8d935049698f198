import { describe, expect, it } from 'vitest';
import { DomainError } from '@tally/shared/util-core';
import { Meter } from './meter';
import { meterIdOf, meterIdPattern } from './meter-id';
import { decideMeter, evolveMeter, initialMeter, MeterCommand, MeterState } from './meter.decider';

const now = '2026-11-25T10:00:00.000Z';
const meter: Meter = {
  slug: 'gb_seconds',
  name: 'GB-seconds',
  description: null,
  eventType: 'fn.invocation',
  aggregation: 'SUM',
  valueProperty: '$.gbSeconds',
  groupBy: { app: '$.app' },
};
const create = (m: Meter = meter): MeterCommand => ({
  type: 'CreateMeter',
  data: { tenant: 't1', ...m },
  metadata: { now },
});
const remove: MeterCommand = { type: 'DeleteMeter', data: { tenant: 't1', slug: 'gb_seconds' }, metadata: { now } };
const given = (...commands: MeterCommand[]): MeterState =>
  commands.reduce((s, c) => decideMeter(c, s).reduce(evolveMeter, s), initialMeter());
const code = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as DomainError).code;
  }
};

describe('Meter', () => {
  it('is created once; the same definition again is a no-op', () => {
    expect(decideMeter(create(), initialMeter())).toEqual([
      {
        type: 'MeterCreated',
        data: { tenant: 't1', ...meter, id: meterIdOf('t1', 'gb_seconds', now), createdAt: now },
      },
    ]);
    expect(meterIdOf('t1', 'gb_seconds', now)).toMatch(meterIdPattern);
    expect(decideMeter(create({ ...meter, groupBy: { app: '$.app' } }), given(create()))).toEqual([]);
  });
  it('compares eventFrom and metadata too, an absent one the same as null', () => {
    expect(decideMeter(create({ ...meter, eventFrom: null, metadata: null }), given(create()))).toEqual([]);
    expect(code(() => decideMeter(create({ ...meter, eventFrom: '2026-01-01T00:00:00.000Z' }), given(create())))).toBe(
      'meter_exists',
    );
  });
  it('takes updates of name, description, metadata and new group-by keys, with the whole definition after', () => {
    const update: MeterCommand = {
      type: 'UpdateMeter',
      data: {
        tenant: 't1',
        slug: 'gb_seconds',
        name: 'GB-s',
        metadata: { team: 'fn' },
        groupBy: { ...meter.groupBy, region: '$.region' },
      },
      metadata: { now: '2026-11-26T00:00:00.000Z' },
    };
    expect(decideMeter(update, given(create()))).toEqual([
      {
        type: 'MeterUpdated',
        data: {
          tenant: 't1',
          ...meter,
          name: 'GB-s',
          metadata: { team: 'fn' },
          groupBy: { app: '$.app', region: '$.region' },
          id: meterIdOf('t1', 'gb_seconds', now),
          createdAt: now,
          updatedAt: '2026-11-26T00:00:00.000Z',
        },
      },
    ]);
    expect(decideMeter(update, given(create(), update)), 'the same update again changes nothing').toEqual([]);
  });

  it('refuses an update that changes or removes a group-by key, or of a meter that is not there', () => {
    const update = (groupBy: Record<string, string>): MeterCommand => ({
      type: 'UpdateMeter',
      data: { tenant: 't1', slug: 'gb_seconds', groupBy },
      metadata: { now },
    });
    expect(code(() => decideMeter(update({ app: '$.application' }), given(create())))).toBe('group_by_fixed');
    expect(code(() => decideMeter(update({ region: '$.region' }), given(create())))).toBe('group_by_fixed');
    expect(code(() => decideMeter(update({ app: '$.app' }), initialMeter()))).toBe('unknown_meter');
  });

  it('is immutable: another definition under the same slug is refused', () =>
    expect(code(() => decideMeter(create({ ...meter, aggregation: 'MAX' }), given(create())))).toBe('meter_exists'));
  it('can be deleted, and the slug used again', () => {
    expect(decideMeter(remove, given(create()))).toHaveLength(1);
    expect(decideMeter(create({ ...meter, aggregation: 'MAX' }), given(create(), remove))).toHaveLength(1);
  });
  it('refuses to delete what does not exist', () =>
    expect(code(() => decideMeter(remove, initialMeter()))).toBe('unknown_meter'));
});
