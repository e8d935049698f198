import { ProblemError } from '@tally/shared/feature-runtime';
import { defaultLocale } from '@tally/contracts/accounts';
import { isCurrency, parseRfc3339 } from '@tally/shared/util-core';

/** Keys that appear in stream names: no '-'/'_' ambiguity issues for readers, no whitespace, bounded. */
const keyPattern = /^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$/;

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return zone.includes('/') || zone === 'UTC';
  } catch {
    return false;
  }
};

const objectBody = (body: unknown, errors: ProblemError[]): Record<string, unknown> => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    errors.push({ field: '', message: 'the body must be a JSON object' });
    return {};
  }
  return body as Record<string, unknown>;
};

const text = (
  body: Record<string, unknown>,
  field: string,
  errors: ProblemError[],
  pattern?: RegExp,
  hint?: string,
): string => {
  const value = body[field];
  if (typeof value !== 'string' || value.trim() === '')
    errors.push({ field, message: `${field} is required and must be a non-empty string` });
  else if (pattern && !pattern.test(value)) errors.push({ field, message: hint ?? `${field} is malformed` });
  return typeof value === 'string' ? value : '';
};

export const validateKey = (value: string, field: string, errors: ProblemError[]): void => {
  if (!keyPattern.test(value))
    errors.push({
      field,
      message: `${field} must be 1–128 characters: letters, digits and . : @ + - (not starting with a symbol)`,
    });
};

/** Long enough for any real tag (language-script-region-variant); RFC 5646 asks implementations for at least 35. */
export const maxLocaleLength = 35;

/**
 * A BCP 47 tag in its canonical form ('en-au' → 'en-AU'), or undefined when it is malformed or no number
 * format of this runtime supports it (the console formats money with it: a tag Intl falls back from would
 * show another locale's money without a word).
 */
export const canonicalLocale = (tag: string): string | undefined => {
  if (tag.length > maxLocaleLength) return undefined;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    // supportedLocalesOf answers a tag it would fall back from ('en-ZZ' → 'en'): the resolved locale must be the tag.
    return canonical !== undefined && new Intl.NumberFormat(canonical).resolvedOptions().locale === canonical
      ? canonical
      : undefined;
  } catch {
    return undefined;
  }
};

const localeField = (body: Record<string, unknown>, errors: ProblemError[]): string => {
  const value = body.locale;
  if (value === undefined) return defaultLocale;
  const canonical = typeof value === 'string' ? canonicalLocale(value) : undefined;
  if (canonical === undefined)
    errors.push({
      field: 'locale',
      message: `locale must be a BCP 47 language tag of at most ${maxLocaleLength} characters that this server can format numbers in, such as en-AU or de-DE`,
    });
  return canonical ?? defaultLocale;
};

export const validateAccount = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  const accountId = text(body, 'id', errors);
  if (accountId) validateKey(accountId, 'id', errors);
  const name = text(body, 'name', errors);
  if (name.length > 200) errors.push({ field: 'name', message: 'name must be at most 200 characters' });
  const currency = text(body, 'currency', errors);
  if (currency && !isCurrency(currency))
    errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code such as USD or EUR' });
  const timezone = text(body, 'timezone', errors);
  if (timezone && !isTimeZone(timezone))
    errors.push({ field: 'timezone', message: 'timezone must be an IANA time zone such as Europe/Berlin or UTC' });
  const anchor = body.billingAnchorDay;
  if (anchor !== undefined && !(typeof anchor === 'number' && Number.isInteger(anchor) && anchor >= 1 && anchor <= 31))
    errors.push({
      field: 'billingAnchorDay',
      message:
        'billingAnchorDay must be a whole number from 1 to 31 (the day billing periods start; 1 = calendar months)',
    });
  const locale = localeField(body, errors);
  return {
    errors,
    value: { accountId, name, currency, timezone, billingAnchorDay: typeof anchor === 'number' ? anchor : 1, locale },
  };
};

export const validateAssignment = (subject: string, input: unknown) => {
  const errors: ProblemError[] = [];
  validateKey(subject, 'key', errors);
  const body = objectBody(input, errors);
  const accountId = text(body, 'accountId', errors);
  let effectiveFrom: string | undefined;
  if (body.effectiveFrom !== undefined) {
    const parsed = typeof body.effectiveFrom === 'string' ? parseRfc3339(body.effectiveFrom) : undefined;
    if (!parsed)
      errors.push({ field: 'effectiveFrom', message: 'effectiveFrom must be an RFC 3339 timestamp with an offset' });
    else effectiveFrom = parsed.toISOString();
  }
  const attributes = attributesOf(body, errors);
  return { errors, value: { accountId, effectiveFrom, attributes } };
};

const instant = (
  body: Record<string, unknown>,
  field: string,
  errors: ProblemError[],
  required: boolean,
): string | undefined => {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required) errors.push({ field, message: `${field} is required: an RFC 3339 timestamp with an offset` });
    return undefined;
  }
  const parsed = typeof value === 'string' ? parseRfc3339(value) : undefined;
  if (!parsed) errors.push({ field, message: `${field} must be an RFC 3339 timestamp with an offset` });
  return parsed?.toISOString();
};

const reasonOf = (body: Record<string, unknown>, errors: ProblemError[]): string => {
  const reason = body.reason;
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > 1_024)
    errors.push({ field: 'reason', message: 'reason is required: say why, in at most 1024 characters' });
  return typeof reason === 'string' ? reason.trim() : '';
};

const attributesOf = (body: Record<string, unknown>, errors: ProblemError[]): Record<string, string> => {
  const attributes: Record<string, string> = {};
  if (body.attributes === undefined) return attributes;
  if (typeof body.attributes !== 'object' || body.attributes === null || Array.isArray(body.attributes)) {
    errors.push({ field: 'attributes', message: 'attributes must be an object of strings' });
    return attributes;
  }
  const entries: [string, string][] = [];
  for (const [key, value] of Object.entries(body.attributes)) {
    if (typeof value !== 'string')
      errors.push({ field: `attributes.${key}`, message: 'attribute values must be strings' });
    else entries.push([key, value]);
  }
  // fromEntries defines own properties: an attribute named __proto__ stays data.
  return Object.fromEntries(entries);
};

export const validateSubscription = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  const subscriptionId = text(body, 'id', errors);
  if (subscriptionId) validateKey(subscriptionId, 'id', errors);
  const accountId = text(body, 'accountId', errors);
  const planId = text(body, 'planId', errors);
  const startsAt = instant(body, 'startsAt', errors, true) ?? '';
  const endsAt = instant(body, 'endsAt', errors, false) ?? null;
  return { errors, value: { subscriptionId, accountId, planId, startsAt, endsAt } };
};

export const validateCancellation = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  return { errors, value: { at: instant(body, 'at', errors, true) ?? '', reason: reasonOf(body, errors) } };
};

export const validatePlanChange = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  return {
    errors,
    value: { planId: text(body, 'planId', errors), effectiveFrom: instant(body, 'effectiveFrom', errors, true) ?? '' },
  };
};

export const validateReschedule = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  return { errors, value: { startsAt: instant(body, 'startsAt', errors, true) ?? '', reason: reasonOf(body, errors) } };
};

export const validateSubjectCorrection = (subject: string, input: unknown) => {
  const errors: ProblemError[] = [];
  validateKey(subject, 'key', errors);
  const body = objectBody(input, errors);
  const accountId = text(body, 'accountId', errors);
  const effectiveFrom = instant(body, 'effectiveFrom', errors, true) ?? '';
  const effectiveTo = instant(body, 'effectiveTo', errors, false) ?? null;
  return {
    errors,
    value: {
      accountId,
      effectiveFrom,
      effectiveTo,
      attributes: attributesOf(body, errors),
      reason: reasonOf(body, errors),
    },
  };
};
