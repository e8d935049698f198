import { ExactDecimal as Decimal } from '@tally/shared/util-core';
import { parseJsonPath, readPath, segmentsOf } from './json-path';

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

export interface FieldError {
  field: string;
  message: string;
}

const slugPattern = /^[a-z0-9]+(?:[_-][a-z0-9]+)*$/;
const groupKeyPattern = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const maxGroupBy = 20;

/** Reads a meter definition; every problem is named with its field. */
export const validateMeter = (input: unknown): { ok: true; meter: Meter } | { ok: false; errors: FieldError[] } => {
  const errors: FieldError[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { ok: false, errors: [{ field: '', message: 'a meter must be a JSON object' }] };
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
  if (slug && !slugPattern.test(slug)) errors.push({ field: 'slug', message: 'slug must be lower-case letters and digits, joined by - or _ (e.g. gb_seconds)' });
  const name = text('name', 200, false) ?? slug ?? '';
  const description = text('description', 1_000, false);
  const eventType = text('eventType', 256, true);
  const aggregation = body.aggregation;
  if (!meterAggregations.includes(aggregation as MeterAggregation)) errors.push({ field: 'aggregation', message: `aggregation must be one of ${meterAggregations.join(', ')}` });
  const valueProperty = text('valueProperty', 512, aggregation !== 'COUNT' && meterAggregations.includes(aggregation as MeterAggregation));
  if (aggregation === 'COUNT' && valueProperty) errors.push({ field: 'valueProperty', message: 'a COUNT meter counts events and reads no value' });
  if (valueProperty) {
    const parsed = parseJsonPath(valueProperty);
    if (!parsed.ok) errors.push({ field: 'valueProperty', message: `valueProperty is not a supported JSONPath: ${parsed.error}` });
  }
  const groupBy: Record<string, string> = {};
  if (body.groupBy !== undefined && body.groupBy !== null) {
    if (typeof body.groupBy !== 'object' || Array.isArray(body.groupBy)) errors.push({ field: 'groupBy', message: 'groupBy must be an object of key → JSONPath' });
    else {
      const entries = Object.entries(body.groupBy);
      if (entries.length > maxGroupBy) errors.push({ field: 'groupBy', message: `at most ${maxGroupBy} group-by keys` });
      for (const [key, path] of entries) {
        if (!groupKeyPattern.test(key)) errors.push({ field: `groupBy.${key}`, message: 'a group-by key is a name: letters, digits, _ (not starting with a digit)' });
        const parsed = typeof path === 'string' ? parseJsonPath(path) : { ok: false as const, error: 'expected a string' };
        if (!parsed.ok) errors.push({ field: `groupBy.${key}`, message: `not a supported JSONPath: ${parsed.error}` });
        else groupBy[key] = path as string;
      }
    }
  }
  if (errors.length > 0 || !slug || !eventType) return { ok: false, errors };
  return { ok: true, meter: { slug, name, description, eventType, aggregation: aggregation as MeterAggregation, valueProperty, groupBy } };
};

export type MeterReading =
  | { ok: true; value: string; groups: Record<string, string | null> }
  | { ok: false; reason: 'missing_value' | 'not_a_number'; path: string };

/**
 * What a usage event contributes to a meter: its value as an exact decimal string (1 for COUNT; for
 * UNIQUE_COUNT the value is the identity being counted, any string or number) and its group-by values.
 * A missing or non-numeric value is reported, never read as 0.
 */
export const readMeter = (meter: Meter, data: Record<string, unknown>): MeterReading => {
  const groups: Record<string, string | null> = {};
  for (const [key, path] of Object.entries(meter.groupBy)) {
    const value = readPath(data, segmentsOf(path));
    groups[key] = value === undefined || value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  if (meter.aggregation === 'COUNT' || !meter.valueProperty) return { ok: true, value: '1', groups };
  const raw = readPath(data, segmentsOf(meter.valueProperty));
  if (raw === undefined || raw === null) return { ok: false, reason: 'missing_value', path: meter.valueProperty };
  if (meter.aggregation === 'UNIQUE_COUNT') return typeof raw === 'object' ? { ok: false, reason: 'not_a_number', path: meter.valueProperty } : { ok: true, value: String(raw), groups };
  // Decimal text only: decimal.js alone would also take hex ('0x10'), binary and 'Infinity'.
  if ((typeof raw !== 'string' && typeof raw !== 'number') || !isDecimalText(String(raw))) return { ok: false, reason: 'not_a_number', path: meter.valueProperty };
  return { ok: true, value: new Decimal(String(raw)).toFixed(), groups };
};

/** Decimal text, the only form a reading may take (the SQL paths use the same rule). */
export const isDecimalText = (text: string): boolean => /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text);
