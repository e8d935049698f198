import { LosslessNumber, stringify } from 'lossless-json';
import type { MeterValue } from '@tally/aggregation/data-access-usage';
import type { MeterRecord } from './meters.service';

/**
 * A meter as OpenMeter's `Meter` schema has it: optional strings left out rather than null, `updatedAt` (its
 * last update, deletion or creation), eventFrom and metadata when set.
 */
export const openMeterMeter = (meter: MeterRecord) => ({
  id: meter.id,
  slug: meter.slug,
  name: meter.name,
  ...(meter.description !== null && { description: meter.description }),
  aggregation: meter.aggregation,
  eventType: meter.eventType,
  ...(meter.valueProperty !== null && { valueProperty: meter.valueProperty }),
  ...(meter.valueExpression && { valueExpression: meter.valueExpression }),
  groupBy: meter.groupBy,
  ...(meter.eventFrom && { eventFrom: meter.eventFrom }),
  ...(meter.metadata && { metadata: meter.metadata }),
  createdAt: meter.createdAt,
  updatedAt: meter.deletedAt ?? meter.updatedAt ?? meter.createdAt,
  ...(meter.deletedAt && { deletedAt: meter.deletedAt }),
});

type Listed = ReturnType<typeof openMeterMeter>;
const orderKeys = {
  key: (m: Listed) => m.slug,
  name: (m: Listed) => m.name,
  aggregation: (m: Listed) => m.aggregation,
  createdAt: (m: Listed) => m.createdAt,
  updatedAt: (m: Listed) => m.updatedAt,
} as const;

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** listMeters' ordering and paging, over a tenant's meters (a catalogue, not a table of usage: in memory). */
export const pageOfMeters = (
  meters: readonly Listed[],
  options: { page: number; pageSize: number; order: 'ASC' | 'DESC'; orderBy: keyof typeof orderKeys },
): Listed[] => {
  const key = orderKeys[options.orderBy];
  const direction = options.order === 'DESC' ? -1 : 1;
  // By code unit, not localeCompare: ICU's collation ignores punctuation (gb-stored after gb_seconds) and changes
  // with the Node version; a page boundary must not. The slug breaks ties, so that pages never overlap.
  const sorted = [...meters].sort((a, b) => direction * (byCodeUnit(key(a), key(b)) || byCodeUnit(a.slug, b.slug)));
  return sorted.slice((options.page - 1) * options.pageSize, options.page * options.pageSize);
};

/**
 * A meter query's answer as OpenMeter's JSON text: each `value` a JSON number literal with the exact decimal
 * digits Postgres computed (lossless-json writes a LosslessNumber's text as it is — never through a binary
 * float, which would turn 0.1 + 0.2 into 0.30000000000000004 or round 20 significant digits to 17).
 */
export const openMeterQueryJson = (answer: {
  from?: string;
  to: string;
  windowSize?: string | null;
  windowTimeZone: string;
  data: readonly MeterValue[];
}): string =>
  stringify({
    ...answer,
    data: answer.data.map(({ attributes: _attributes, ...row }) => ({ ...row, value: new LosslessNumber(row.value) })),
  }) as string;
