import { parseJsonPath, parseValueExpression, valueExpressionLimits } from '@tally/contracts/meters';
import { parseRfc3339 } from '@tally/shared/util-core';
import type { FieldError } from '@tally/shared/util-core';

export const meterAggregations = [
  'SUM',
  'COUNT',
  'UNIQUE_COUNT',
  'MIN',
  'MAX',
  'AVG',
  'LATEST',
  'TIME_WEIGHTED_SUM',
] as const;
export type MeterAggregation = (typeof meterAggregations)[number];

/** A meter, OpenMeter-compatible: what to measure in which events, and how to aggregate it. */
export interface Meter {
  slug: string;
  name: string;
  description: string | null;
  eventType: string;
  aggregation: MeterAggregation;
  /** JSONPath into data; absent for COUNT and for meters with a valueExpression. */
  valueProperty: string | null;
  /** A derived value over data's fields (contracts/meters value-expression.ts), instead of valueProperty. */
  valueExpression?: string | null;
  /** Group-by key → JSONPath into data. */
  groupBy: Record<string, string>;
  /** Only events at or after this instant count (OpenMeter's `eventFrom`); absent: all of them. */
  eventFrom?: string | null;
  /** The owner's key-value pairs (OpenMeter's `metadata`): kept and shown, never read. */
  metadata?: Record<string, string> | null;
}

/** The limits OpenMeter's MeterCreate sets, kept the same so that every meter it accepts Tally accepts. */
export const meterLimits = { slug: 64, name: 256, description: 1_024, eventType: 256, valueProperty: 512 } as const;

export type { FieldError };

const slugPattern = /^[a-z0-9]+(?:[_-][a-z0-9]+)*$/;
const groupKeyPattern = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** Names every JavaScript object already answers to: refused as keys, so that a key is only ever data. */
const reservedKeys = new Set(['__proto__', 'constructor', 'prototype']);
const maxGroupBy = 20;

/** Reads a meter definition; every problem is named with its field. */
export const validateMeter = (input: unknown): { ok: true; meter: Meter } | { ok: false; errors: FieldError[] } => {
  const errors: FieldError[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: [{ field: '', message: 'a meter must be a JSON object' }] };
  const body = input as Record<string, unknown>;
  const text = (field: string, max: number, required: boolean): string | null => {
    const value = body[field];
    if (value === undefined || value === null) {
      if (required) errors.push({ field, message: `${field} is required` });
      return null;
    }
    if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
      errors.push({ field, message: `${field} must be a non-empty string of at most ${max} characters` });
      return null;
    }
    return value;
  };
  const slug = text('slug', meterLimits.slug, true);
  if (slug && !slugPattern.test(slug))
    errors.push({
      field: 'slug',
      message: 'slug must be lower-case letters and digits, joined by - or _ (e.g. gb_seconds)',
    });
  const name = text('name', meterLimits.name, false) ?? slug ?? '';
  const description = text('description', meterLimits.description, false);
  const eventType = text('eventType', meterLimits.eventType, true);
  const aggregation = body.aggregation;
  if (!meterAggregations.includes(aggregation as MeterAggregation))
    errors.push({ field: 'aggregation', message: `aggregation must be one of ${meterAggregations.join(', ')}` });
  const valueExpression = readValueExpression(body, aggregation, errors);
  const given = text(
    'valueProperty',
    meterLimits.valueProperty,
    aggregation !== 'COUNT' &&
      meterAggregations.includes(aggregation as MeterAggregation) &&
      (body.valueExpression === undefined || body.valueExpression === null),
  );
  if (given !== null && valueExpression !== null)
    errors.push({ field: 'valueProperty', message: 'a meter reads valueProperty or valueExpression, not both' });
  // OpenMeter: "For COUNT aggregation the valueProperty is ignored" — so it is not kept either.
  const valueProperty = aggregation === 'COUNT' ? null : given;
  if (valueProperty) {
    const parsed = parseJsonPath(valueProperty);
    if (!parsed.ok)
      errors.push({ field: 'valueProperty', message: `valueProperty is not a supported JSONPath: ${parsed.error}` });
  }
  const groupBy: Record<string, string> = {};
  if (body.groupBy !== undefined && body.groupBy !== null) {
    if (typeof body.groupBy !== 'object' || Array.isArray(body.groupBy))
      errors.push({ field: 'groupBy', message: 'groupBy must be an object of key → JSONPath' });
    else {
      const entries = Object.entries(body.groupBy);
      if (entries.length > maxGroupBy)
        errors.push({ field: 'groupBy', message: `at most ${maxGroupBy} group-by keys` });
      for (const [key, path] of entries) {
        if (!groupKeyPattern.test(key) || reservedKeys.has(key))
          errors.push({
            field: `groupBy.${key}`,
            message: 'a group-by key is a name: letters, digits, _ (not starting with a digit)',
          });
        const parsed =
          typeof path === 'string' ? parseJsonPath(path) : { ok: false as const, error: 'expected a string' };
        if (!parsed.ok) errors.push({ field: `groupBy.${key}`, message: `not a supported JSONPath: ${parsed.error}` });
        else groupBy[key] = path as string;
      }
    }
  }
  let eventFrom: string | null = null;
  if (body.eventFrom !== undefined && body.eventFrom !== null) {
    const parsed = typeof body.eventFrom === 'string' ? parseRfc3339(body.eventFrom) : undefined;
    if (!parsed) errors.push({ field: 'eventFrom', message: 'eventFrom must be an RFC 3339 timestamp with an offset' });
    else eventFrom = parsed.toISOString();
  }
  const metadata = metadataOf(body.metadata, errors);
  if (errors.length > 0 || !slug || !eventType) return { ok: false, errors };
  return {
    ok: true,
    meter: {
      slug,
      name,
      description,
      eventType,
      aggregation: aggregation as MeterAggregation,
      valueProperty,
      ...(valueExpression !== null && { valueExpression }),
      groupBy,
      // Only when given: a meter created without them reads the same as one from before they existed.
      ...(eventFrom !== null && { eventFrom }),
      ...(metadata !== null && { metadata }),
    },
  };
};

/** Aggregations whose value is a number an expression may derive (COUNT counts; UNIQUE_COUNT counts identities). */
const numericAggregations: readonly string[] = ['SUM', 'MIN', 'MAX', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'];

const readValueExpression = (body: Record<string, unknown>, aggregation: unknown, errors: FieldError[]) => {
  const value = body.valueExpression;
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.trim() === '') {
    errors.push({ field: 'valueExpression', message: 'valueExpression must be a non-empty string' });
    return null;
  }
  if (!numericAggregations.includes(aggregation as string)) {
    errors.push({
      field: 'valueExpression',
      message: `valueExpression derives a number: only for ${numericAggregations.join(', ')} meters`,
    });
    return null;
  }
  const parsed = parseValueExpression(value);
  if (!parsed.ok) {
    errors.push({ field: 'valueExpression', message: `valueExpression: ${parsed.error}` });
    return null;
  }
  return value.length <= valueExpressionLimits.length ? value : null;
};

const maxMetadata = 50;

/** OpenMeter's `metadata`: an object of strings (bounded: it is stored with the meter). */
const metadataOf = (value: unknown, errors: FieldError[]): Record<string, string> | null => {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) {
    errors.push({ field: 'metadata', message: 'metadata must be an object of strings' });
    return null;
  }
  const entries = Object.entries(value);
  if (entries.length > maxMetadata) errors.push({ field: 'metadata', message: `at most ${maxMetadata} metadata keys` });
  for (const [key, text] of entries)
    if (typeof text !== 'string' || key.length > 256 || text.length > 1_024)
      errors.push({ field: `metadata.${key}`, message: 'metadata values are strings of at most 1024 characters' });
  // fromEntries defines own properties: a key named __proto__ stays data.
  return errors.some((e) => e.field.startsWith('metadata')) ? null : Object.fromEntries(entries as [string, string][]);
};

/** A meter's definition compared as it is kept (an absent eventFrom or metadata is the same as null). */
export const sameMeterDefinition = (a: Meter, b: Meter): boolean => {
  const key = (m: Meter) =>
    JSON.stringify([
      m.slug,
      m.name,
      m.description,
      m.eventType,
      m.aggregation,
      m.valueProperty,
      m.valueExpression ?? null,
      Object.entries(m.groupBy).sort(),
      m.eventFrom ?? null,
      Object.entries(m.metadata ?? {}).sort(),
    ]);
  return key(a) === key(b);
};

/** What OpenMeter's MeterUpdate may change: absent fields stay as they are; null clears description or metadata. */
export interface MeterUpdate {
  name?: string;
  description?: string | null;
  metadata?: Record<string, string> | null;
  groupBy?: Record<string, string>;
}

/**
 * The meter after an update. Group-by keys may be added — none changed or removed: what a key reads is part of
 * every number already produced by it (the decider refuses before this is called with such a change).
 */
export const updatedMeter = (meter: Meter, update: MeterUpdate): Meter => ({
  ...meter,
  ...(update.name !== undefined && { name: update.name }),
  ...(update.description !== undefined && { description: update.description }),
  ...(update.metadata !== undefined && { metadata: update.metadata }),
  ...(update.groupBy !== undefined && { groupBy: { ...meter.groupBy, ...update.groupBy } }),
});

/** Group-by keys an update would change or remove (it may only add). */
export const changedGroupByKeys = (meter: Meter, update: MeterUpdate): string[] =>
  update.groupBy === undefined
    ? []
    : Object.entries(meter.groupBy)
        .filter(([key, path]) => update.groupBy?.[key] !== path)
        .map(([key]) => key);

/** Reads a MeterUpdate; every problem is named with its field. */
export const validateMeterUpdate = (
  input: unknown,
): { ok: true; update: MeterUpdate } | { ok: false; errors: FieldError[] } => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: [{ field: '', message: 'a meter update must be a JSON object' }] };
  const body = input as Record<string, unknown>;
  // The same rules as creation, on a definition made of the fields given (and placeholders for the rest).
  const checked = validateMeter({
    slug: 'x',
    eventType: 'x',
    aggregation: 'COUNT',
    ...(body.name !== undefined && { name: body.name }),
    ...(body.description !== undefined && { description: body.description }),
    ...(body.metadata !== undefined && { metadata: body.metadata }),
    ...(body.groupBy !== undefined && { groupBy: body.groupBy }),
  });
  const errors = checked.ok ? [] : checked.errors;
  if (body.name === null) errors.push({ field: 'name', message: 'name must be a non-empty string' });
  if (errors.length > 0 || !checked.ok) return { ok: false, errors };
  return {
    ok: true,
    update: {
      ...(body.name !== undefined && { name: checked.meter.name }),
      ...(body.description !== undefined && { description: checked.meter.description }),
      ...(body.metadata !== undefined && { metadata: checked.meter.metadata ?? null }),
      ...(body.groupBy !== undefined && body.groupBy !== null && { groupBy: checked.meter.groupBy }),
    },
  };
};
