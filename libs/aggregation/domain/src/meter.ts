import { parseJsonPath } from '@tally/contracts/meters';
import type { FieldError } from '@tally/shared/util-core';

export const meterAggregations = ['SUM', 'COUNT', 'UNIQUE_COUNT', 'MIN', 'MAX', 'AVG', 'LATEST'] as const;
export type MeterAggregation = (typeof meterAggregations)[number];

/** A meter, OpenMeter-compatible: what to measure in which events, and how to aggregate it. */
export interface Meter {
  slug: string;
  name: string;
  description: string | null;
  eventType: string;
  aggregation: MeterAggregation;
  /** JSONPath into data; absent only for COUNT. */
  valueProperty: string | null;
  /** Group-by key → JSONPath into data. */
  groupBy: Record<string, string>;
}

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
  const slug = text('slug', 63, true);
  if (slug && !slugPattern.test(slug))
    errors.push({
      field: 'slug',
      message: 'slug must be lower-case letters and digits, joined by - or _ (e.g. gb_seconds)',
    });
  const name = text('name', 200, false) ?? slug ?? '';
  const description = text('description', 1_000, false);
  const eventType = text('eventType', 256, true);
  const aggregation = body.aggregation;
  if (!meterAggregations.includes(aggregation as MeterAggregation))
    errors.push({ field: 'aggregation', message: `aggregation must be one of ${meterAggregations.join(', ')}` });
  const valueProperty = text(
    'valueProperty',
    512,
    aggregation !== 'COUNT' && meterAggregations.includes(aggregation as MeterAggregation),
  );
  if (aggregation === 'COUNT' && valueProperty)
    errors.push({ field: 'valueProperty', message: 'a COUNT meter counts events and reads no value' });
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
  if (errors.length > 0 || !slug || !eventType) return { ok: false, errors };
  return {
    ok: true,
    meter: { slug, name, description, eventType, aggregation: aggregation as MeterAggregation, valueProperty, groupBy },
  };
};
