import { UsageEventV1, usageLimits } from '@tally/contracts/usage';
import { FieldError, isExactNumber, parseRfc3339 } from '@tally/shared/util-core';

export type { FieldError };

export type Validated = { ok: true; event: UsageEventV1 } | { ok: false; errors: FieldError[] };

const textLimits = {
  id: usageLimits.idLength,
  source: usageLimits.sourceLength,
  type: usageLimits.typeLength,
  subject: usageLimits.subjectLength,
} as const;

/** Text Postgres and every consumer can store: no NUL, no lone surrogate, no other C0 control in identifiers. */
const utf8 = new TextEncoder();
const utf8Bytes = (text: string): number => utf8.encode(text).length;

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const controlCharacter = /[\u0000-\u001f\u007f]/;
const storable = (text: string): boolean => !text.includes('\u0000') && text.isWellFormed();

const requiredText = (
  input: Record<string, unknown>,
  field: keyof typeof textLimits,
  errors: FieldError[],
): string | undefined => {
  const value = input[field];
  if (value === undefined || value === null) {
    errors.push({ field, message: `${field} is required` });
    return undefined;
  }
  if (typeof value !== 'string') {
    errors.push({ field, message: `${field} must be a string` });
    return undefined;
  }
  if (value.trim().length === 0) errors.push({ field, message: `${field} must not be empty` });
  else if (value.length > textLimits[field])
    errors.push({ field, message: `${field} is longer than ${textLimits[field]} characters` });
  else if (!storable(value) || controlCharacter.test(value))
    errors.push({ field, message: `${field} contains control characters or invalid unicode` });
  return value;
};

/**
 * `data` as stored: numbers become their exact decimal text; every string and key must be storable.
 * Returns undefined (with an error) when something cannot be stored faithfully.
 */
const exactData = (value: unknown, path: string, errors: FieldError[], depth = 1): unknown => {
  if (isExactNumber(value)) return value.text;
  // Deeper than any meter reads, and every reader (JSONPath, jsonb, logs) walks it recursively: refused, once.
  if (depth > usageLimits.dataDepth && typeof value === 'object' && value !== null) {
    if (!errors.some((e) => e.message.startsWith('data nests deeper')))
      errors.push({ field: 'data', message: `data nests deeper than ${usageLimits.dataDepth} levels` });
    return null;
  }
  if (typeof value === 'string') {
    if (!storable(value)) errors.push({ field: path, message: `${path} contains a NUL character or invalid unicode` });
    return value;
  }
  if (Array.isArray(value)) return value.map((item, i) => exactData(item, `${path}[${i}]`, errors, depth + 1));
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties: a key named __proto__ stays data, never the object's prototype.
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (!storable(key))
          errors.push({ field: path, message: `${path} has a key with a NUL character or invalid unicode` });
        return [key, exactData(item, `${path}.${key}`, errors, depth + 1)];
      }),
    );
  }
  // JSON.parse numbers (non-HTTP callers): integers and decimals print exactly as JS reads them.
  if (typeof value === 'number') return String(value);
  return value;
};

/**
 * Checks one CloudEvents 1.0 usage event. `receivedAt` fills a missing time and bounds future and too-old ones;
 * every problem is reported with its field, so a producer can fix all of them in one go.
 */
export const validateUsageEvent = (input: unknown, receivedAt: Date, horizonDays = 35): Validated => {
  if (typeof input !== 'object' || input === null || Array.isArray(input) || isExactNumber(input)) {
    return { ok: false, errors: [{ field: '', message: 'an event must be a JSON object' }] };
  }
  const body = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (body.specversion !== '1.0') errors.push({ field: 'specversion', message: 'specversion must be "1.0"' });
  const id = requiredText(body, 'id', errors);
  const source = requiredText(body, 'source', errors);
  const type = requiredText(body, 'type', errors);
  const subject = requiredText(body, 'subject', errors);

  let time = receivedAt;
  if (body.time !== undefined && body.time !== null) {
    const parsed = typeof body.time === 'string' ? parseRfc3339(body.time) : undefined;
    if (!parsed)
      errors.push({
        field: 'time',
        message: 'time must be an RFC 3339 timestamp with an offset, e.g. 2026-11-25T10:00:00Z',
      });
    else if (parsed.getTime() > receivedAt.getTime() + usageLimits.maxFutureMs)
      errors.push({ field: 'time', message: 'time is more than 5 minutes in the future' });
    // Past the horizon an event could no longer be deduplicated exactly (DESIGN.md), so it is refused.
    else if (parsed.getTime() < receivedAt.getTime() - horizonDays * 86_400_000)
      errors.push({ field: 'time', message: `time is older than the lateness horizon (${horizonDays} days)` });
    else time = parsed;
  }
  let data: Record<string, unknown> = {};
  if (body.data !== undefined && body.data !== null) {
    if (typeof body.data !== 'object' || Array.isArray(body.data) || isExactNumber(body.data))
      errors.push({ field: 'data', message: 'data must be a JSON object' });
    else {
      data = exactData(body.data, 'data', errors) as Record<string, unknown>;
      if (utf8Bytes(JSON.stringify(data)) > usageLimits.dataBytes)
        errors.push({ field: 'data', message: `data is larger than ${usageLimits.dataBytes} bytes` });
    }
  }
  // null is "not given" (OpenMeter's Event schema has it nullable).
  if (body.datacontenttype != null && body.datacontenttype !== 'application/json') {
    errors.push({ field: 'datacontenttype', message: 'datacontenttype must be application/json when present' });
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    event: {
      specversion: '1.0',
      id: id as string,
      source: source as string,
      type: type as string,
      subject: subject as string,
      time: time.toISOString(),
      data,
    },
  };
};
