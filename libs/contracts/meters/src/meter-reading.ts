import { ExactDecimal as Decimal } from '@tally/shared/util-core';
import { readPath, segmentsOf } from './json-path';
import { isDecimalText } from './decimal-text';
import { evaluateValueExpression, valueExpressionOf } from './value-expression';

export { decimalTextSqlPattern, isDecimalText } from './decimal-text';
import type { MeterCreatedV1 } from './meter.v1';

/**
 * How a meter reads a usage event — part of the meter contract, so every reader agrees: aggregation's
 * rollups (and their SQL twin) and invoicing's reconciliation, which re-derives quantities from the ledger.
 */
export type MeterDefinition = Pick<MeterCreatedV1, 'aggregation' | 'valueProperty' | 'groupBy' | 'valueExpression'>;

export type MeterReading =
  | { ok: true; value: string; groups: Record<string, string | null> }
  | { ok: false; reason: 'missing_value' | 'not_a_number' | 'division_by_zero'; path: string };

/**
 * What a usage event contributes to a meter: its value as an exact decimal string (1 for COUNT; for
 * UNIQUE_COUNT the value is the identity being counted, any string or number) and its group-by values.
 * A missing or non-numeric value is reported, never read as 0.
 */
export const readMeter = (meter: MeterDefinition, data: Record<string, unknown>): MeterReading => {
  const groups: Record<string, string | null> = {};
  for (const [key, path] of Object.entries(meter.groupBy)) {
    const value = readPath(data, segmentsOf(path));
    groups[key] =
      value === undefined || value === null ? null : typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
  if (meter.aggregation !== 'COUNT' && meter.valueExpression) {
    const result = evaluateValueExpression(valueExpressionOf(meter.valueExpression), data);
    return result.ok ? { ok: true, value: result.value.toFixed(), groups } : result;
  }
  if (meter.aggregation === 'COUNT' || !meter.valueProperty) return { ok: true, value: '1', groups };
  const raw = readPath(data, segmentsOf(meter.valueProperty));
  if (raw === undefined || raw === null) return { ok: false, reason: 'missing_value', path: meter.valueProperty };
  if (meter.aggregation === 'UNIQUE_COUNT')
    return typeof raw === 'object'
      ? { ok: false, reason: 'not_a_number', path: meter.valueProperty }
      : { ok: true, value: String(raw), groups };
  // Decimal text only: decimal.js alone would also take hex ('0x10'), binary and 'Infinity'.
  if ((typeof raw !== 'string' && typeof raw !== 'number') || !isDecimalText(String(raw)))
    return { ok: false, reason: 'not_a_number', path: meter.valueProperty };
  return { ok: true, value: new Decimal(String(raw)).toFixed(), groups };
};
