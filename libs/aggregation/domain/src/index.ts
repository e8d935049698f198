export * from './usage-query';
// The JSONPath subset and the reading rule are the meter contract's (libs/contracts/meters).
export {
  parseJsonPath,
  readPath,
  segmentsOf,
  pathTextArray,
  readMeter,
  isDecimalText,
  decimalTextSqlPattern,
  parseValueExpression,
  valueExpressionOf,
  valueExpressionLimits,
} from '@tally/contracts/meters';
export type { PathSegment, MeterReading, ValueExpression } from '@tally/contracts/meters';
export * from './meter';
export * from './meter.decider';
export * from './meter-query';
export * from './billing-period';
export * from './budget';
export * from './budget.decider';
export * from './errors';
export * from './meter-id';
export * from './group-filter';
export * from './projection';
export * from './usage-export';
