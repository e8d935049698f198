import type { QueryError } from './usage-query';

/**
 * OpenMeter's FilterString: a condition on one group-by value (`advancedMeterGroupByFilters`, e.g.
 * `{ "model": { "$in": ["gpt-4", "gpt-4o"] }, "type": { "$eq": "input" } }`). Operators on one object hold
 * together (and); `$and` / `$or` nest. `$like` patterns are SQL's (`%`, `_`); comparisons are by code point.
 */
export interface StringFilter {
  $eq?: string;
  $ne?: string;
  $in?: string[];
  $nin?: string[];
  $like?: string;
  $nlike?: string;
  $ilike?: string;
  $nilike?: string;
  $gt?: string;
  $gte?: string;
  $lt?: string;
  $lte?: string;
  $and?: StringFilter[];
  $or?: StringFilter[];
}

const textOperators = ['$eq', '$ne', '$like', '$nlike', '$ilike', '$nilike', '$gt', '$gte', '$lt', '$lte'] as const;
const listOperators = ['$in', '$nin'] as const;
const nestedOperators = ['$and', '$or'] as const;
const maxDepth = 5;
const maxValues = 100;
/** Operators and listed values in one filter, all levels together (each is a bind parameter in SQL). */
const maxTerms = 1_000;
const maxLength = 1_024;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads one FilterString; every problem is named with where it is (`advancedMeterGroupByFilters.model.$in`). */
export const parseStringFilter = (value: unknown, field: string, errors: QueryError[]): StringFilter | undefined => {
  const filter = parseLevel(value, field, errors, 0);
  if (filter && termsOf(filter) > maxTerms)
    errors.push({ field, message: `${field} has more than ${maxTerms} operators and values in all` });
  return filter;
};

const termsOf = (filter: StringFilter): number =>
  Object.entries(filter).reduce(
    (n, [operator, operand]) =>
      n +
      (operator === '$and' || operator === '$or'
        ? (operand as StringFilter[]).reduce((m, f) => m + termsOf(f), 1)
        : Array.isArray(operand)
          ? operand.length
          : 1),
    0,
  );

const parseLevel = (value: unknown, field: string, errors: QueryError[], depth: number): StringFilter | undefined => {
  if (!isObject(value)) {
    errors.push({ field, message: `${field} must be an object of operators ($eq, $in, $like, $and …)` });
    return undefined;
  }
  if (depth > maxDepth) {
    errors.push({ field, message: `filters nest at most ${maxDepth} deep` });
    return undefined;
  }
  const filter: StringFilter = {};
  for (const [operator, operand] of Object.entries(value)) {
    const at = `${field}.${operator}`;
    if ((textOperators as readonly string[]).includes(operator)) {
      if (typeof operand !== 'string' || operand.length > maxLength)
        errors.push({ field: at, message: `${at} must be a string of at most ${maxLength} characters` });
      else filter[operator as (typeof textOperators)[number]] = operand;
    } else if ((listOperators as readonly string[]).includes(operator)) {
      if (!Array.isArray(operand) || operand.length > maxValues || !operand.every((v) => typeof v === 'string'))
        errors.push({ field: at, message: `${at} must be a list of at most ${maxValues} strings` });
      else filter[operator as (typeof listOperators)[number]] = operand as string[];
    } else if ((nestedOperators as readonly string[]).includes(operator)) {
      if (!Array.isArray(operand) || operand.length === 0 || operand.length > maxValues)
        errors.push({ field: at, message: `${at} must be a list of 1 to ${maxValues} filters` });
      else {
        const nested = operand.map((item, i) => parseLevel(item, `${at}.${i}`, errors, depth + 1));
        if (nested.every((n): n is StringFilter => n !== undefined))
          filter[operator as (typeof nestedOperators)[number]] = nested;
      }
    } else {
      const known = [...textOperators, ...listOperators, ...nestedOperators].join(', ');
      errors.push({ field: at, message: `${operator} is not a filter operator (${known})` });
    }
  }
  if (Object.keys(value).length === 0) errors.push({ field, message: `${field} has no operator` });
  return filter;
};
