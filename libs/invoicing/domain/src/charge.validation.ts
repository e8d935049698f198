import { ExactDecimal } from '@tally/shared/util-core';
import { chargeModels, type Charge, type ChargeModel, type FieldError, type Tier } from './charge';
import { canonicalDecimal } from './money';

export type ChargesValidation = { ok: true; charges: Charge[] } | { ok: false; errors: FieldError[] };

const meterPattern = /^[a-z0-9][a-z0-9_-]{0,62}$/i;
// Non-negative decimal text, no sign, no exponent. JSON numbers are refused outright: a price written as 0.1
// would already be a binary float by the time it got here.
const decimalPattern = /^(?:\d+\.?\d*|\.\d+)$/;
const chargeKeys = [
  'meter',
  'model',
  'per',
  'allowance',
  'unitPrice',
  'unitPricePer',
  'tiers',
  'packageSize',
  'packagePrice',
  'description',
];
const tierKeys = ['upTo', 'unitPrice', 'flatPrice'];
const maxPerLength = 64;
const maxDecimalLength = 40;
const maxDescriptionLength = 200;

/** The models each model-specific field belongs to: a field of another model is refused, never silently ignored. */
const fieldModels: Record<string, readonly ChargeModel[]> = {
  unitPrice: ['unit'],
  unitPricePer: ['unit', 'graduated', 'volume'],
  tiers: ['graduated', 'volume'],
  packageSize: ['package'],
  packagePrice: ['package'],
};

type Pricing = Pick<Charge, 'unitPrice' | 'tiers' | 'packageSize' | 'packagePrice'>;
const noPricing: Pricing = { unitPrice: null, tiers: null, packageSize: null, packagePrice: null };

/** One JSON object being read: its fields, its path in the input, and where its problems go. */
interface Reader {
  body: Record<string, unknown>;
  path: string;
  errors: FieldError[];
}

/**
 * Reads a plan's charges. Every problem is reported (not just the first), named by its path such as
 * `charges[0].tiers[1].upTo`. On success decimals are canonical and every absent field has its default.
 */
export const validateCharges = (input: unknown): ChargesValidation => {
  if (!Array.isArray(input)) return { ok: false, errors: [{ field: 'charges', message: 'charges must be an array' }] };
  const errors: FieldError[] = [];
  const charges: Charge[] = [];
  const chargedBy = new Map<string, string>();
  input.forEach((item, index) => {
    const path = `charges[${index}]`;
    const charge = readCharge(item, path, errors);
    if (charge) charges.push(charge);
    // A meter's usage is rated once per plan: a second charge on it would bill the same usage twice.
    const meter = isObject(item) && typeof item.meter === 'string' && meterPattern.test(item.meter) ? item.meter : null;
    if (meter === null) return;
    const first = chargedBy.get(meter);
    if (first) errors.push({ field: `${path}.meter`, message: `meter ${meter} is already charged by ${first}` });
    else chargedBy.set(meter, path);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, charges };
};

const readCharge = (item: unknown, path: string, errors: FieldError[]): Charge | null => {
  if (!isObject(item)) {
    errors.push({ field: path, message: 'a charge must be an object' });
    return null;
  }
  const reader: Reader = { body: item, path, errors };
  const before = errors.length;
  refuseUnknownKeys(reader, chargeKeys, 'a charge');
  const meter = readMeter(reader);
  const model = readModel(reader);
  const per = readText(reader, 'per', maxPerLength, true);
  const description = readText(reader, 'description', maxDescriptionLength, false);
  const allowance = readDecimal(reader, 'allowance', { required: false }) ?? '0';
  const pricing = model === null ? null : readPricing(reader, model);
  const unitPricePer = readUnitPricePer(reader);
  if (errors.length > before || meter === null || model === null || pricing === null) return null;
  // Only when it says something: a charge priced per unit reads (and is stored) as it did before the field existed.
  return { meter, model, per, allowance, ...pricing, ...(unitPricePer !== '1' && { unitPricePer }), description };
};

const readMeter = (reader: Reader): string | null => {
  const meter = reader.body.meter;
  if (typeof meter === 'string' && meterPattern.test(meter)) return meter;
  const message = present(meter)
    ? 'meter must be a meter slug: 1 to 63 letters, digits, - or _, starting with a letter or digit'
    : 'meter is required';
  return fail(reader, 'meter', message);
};

/** A power of ten: dividing by it keeps every amount an exact decimal (a price per 3 units would not). */
const readUnitPricePer = (reader: Reader): string => {
  const value = reader.body.unitPricePer;
  if (!present(value)) return '1';
  if (typeof value === 'string' && /^10*$/.test(value) && value.length <= 19) return value;
  return (
    fail(
      reader,
      'unitPricePer',
      'unitPricePer must be a power of ten as a string ("1", "1000", "1000000"): the number of units the unit price is for',
    ) ?? '1'
  );
};

const readModel = (reader: Reader): ChargeModel | null => {
  const model = chargeModels.find((known) => known === reader.body.model);
  return model ?? fail(reader, 'model', `model must be one of ${chargeModels.join(', ')}`);
};

const readPricing = (reader: Reader, model: ChargeModel): Pricing | null => {
  refuseOtherModelsFields(reader, model);
  const required = { required: true, model };
  switch (model) {
    case 'unit': {
      const unitPrice = readDecimal(reader, 'unitPrice', required);
      return unitPrice === null ? null : { ...noPricing, unitPrice };
    }
    case 'graduated':
    case 'volume': {
      const tiers = readTiers(reader, model);
      return tiers === null ? null : { ...noPricing, tiers };
    }
    case 'package': {
      const packageSize = readDecimal(reader, 'packageSize', { ...required, positive: true });
      const packagePrice = readDecimal(reader, 'packagePrice', required);
      return packageSize === null || packagePrice === null ? null : { ...noPricing, packageSize, packagePrice };
    }
    default: {
      const _never: never = model;
      throw new Error(`unknown charge model ${String(_never)}`);
    }
  }
};

const readTiers = (reader: Reader, model: ChargeModel): Tier[] | null => {
  const items = reader.body.tiers;
  if (!Array.isArray(items) || items.length === 0)
    return fail(reader, 'tiers', `a ${model} charge needs tiers: a non-empty list`);
  const before = reader.errors.length;
  const tiers: Tier[] = [];
  let previousUpTo: string | null = null;
  items.forEach((item, index) => {
    const path = `${reader.path}.tiers[${index}]`;
    if (!isObject(item)) {
      reader.errors.push({ field: path, message: 'a tier must be an object' });
      return;
    }
    const tier: Reader = { body: item, path, errors: reader.errors };
    refuseUnknownKeys(tier, tierKeys, 'a tier');
    const upTo = readUpTo(tier, index === items.length - 1, previousUpTo);
    previousUpTo = upTo ?? previousUpTo;
    const unitPrice = readDecimal(tier, 'unitPrice', { required: true, model });
    const flatPrice = readDecimal(tier, 'flatPrice', { required: false }) ?? '0';
    if (unitPrice !== null) tiers.push({ upTo, unitPrice, flatPrice });
  });
  return reader.errors.length > before ? null : tiers;
};

/** Tiers are contiguous and ordered: each bound above the one before, and only the last one unbounded. */
const readUpTo = (tier: Reader, last: boolean, previousUpTo: string | null): string | null => {
  if (last)
    return present(tier.body.upTo) ? fail(tier, 'upTo', 'the last tier is unbounded: its upTo must be null') : null;
  if (!present(tier.body.upTo)) return fail(tier, 'upTo', 'only the last tier is unbounded: this tier needs an upTo');
  const upTo = readDecimal(tier, 'upTo', { required: true, positive: true });
  if (upTo !== null && previousUpTo !== null && new ExactDecimal(upTo).lte(previousUpTo)) {
    return fail(tier, 'upTo', `upTo must be greater than the previous tier's upTo (${previousUpTo})`);
  }
  return upTo;
};

interface DecimalRule {
  required: boolean;
  /** Named in the "required" message. */
  model?: ChargeModel;
  /** Zero refused too. */
  positive?: boolean;
}

/** A non-negative decimal string, in canonical text; null (with an error when required or malformed) otherwise. */
const readDecimal = (reader: Reader, key: string, rule: DecimalRule): string | null => {
  const value = reader.body[key];
  if (!present(value))
    return rule.required
      ? fail(reader, key, `${key} is required${rule.model ? ` for a ${rule.model} charge` : ''}`)
      : null;
  if (typeof value === 'number')
    return fail(
      reader,
      key,
      `${key} must be a decimal string such as "0.25", not a JSON number: money never passes through a float`,
    );
  if (typeof value !== 'string' || !decimalPattern.test(value))
    return fail(reader, key, `${key} must be a non-negative decimal string such as "0.25" (no sign, no exponent)`);
  // Bounded so every product stays far inside ExactDecimal's 1,000 significant digits (never silently rounded).
  if (value.length > maxDecimalLength) return fail(reader, key, `${key} has more than ${maxDecimalLength} characters`);
  const text = canonicalDecimal(value);
  return rule.positive && text === '0' ? fail(reader, key, `${key} must be greater than 0`) : text;
};

/** An optional string of at most `max` characters; absent or null gives null. */
const readText = (reader: Reader, key: string, max: number, nonEmpty: boolean): string | null => {
  const value = reader.body[key];
  if (!present(value)) return null;
  if (typeof value === 'string' && value.length <= max && (!nonEmpty || value.trim() !== '')) return value;
  return fail(
    reader,
    key,
    `${key} must be ${nonEmpty ? 'a non-empty' : 'a'} string of at most ${max} characters, or null`,
  );
};

const refuseUnknownKeys = (reader: Reader, known: readonly string[], what: string): void => {
  for (const key of Object.keys(reader.body).filter((k) => !known.includes(k))) {
    reader.errors.push({
      field: `${reader.path}.${key}`,
      message: `unknown field ${key}: ${what} has ${known.join(', ')}`,
    });
  }
};

// null counts as absent, so a validated charge (which spells out its unused fields as null) validates again.
const refuseOtherModelsFields = (reader: Reader, model: ChargeModel): void => {
  for (const [key, models] of Object.entries(fieldModels)) {
    if (present(reader.body[key]) && !models.includes(model)) {
      reader.errors.push({
        field: `${reader.path}.${key}`,
        message: `${key} belongs to ${models.join(' and ')} charges, not to a ${model} charge`,
      });
    }
  }
};

/** Records a problem with one field; returns null so readers can `return fail(...)`. */
const fail = (reader: Reader, key: string, message: string): null => {
  reader.errors.push({ field: `${reader.path}.${key}`, message });
  return null;
};

const present = (value: unknown): boolean => value !== undefined && value !== null;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
