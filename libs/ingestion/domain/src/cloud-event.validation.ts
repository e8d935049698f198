import { UsageEventV1 } from '@tally/contracts/usage';
import { parseRfc3339 } from '@tally/shared/util-core';

export interface FieldError {
  field: string;
  message: string;
}

export type Validated = { ok: true; event: UsageEventV1 } | { ok: false; errors: FieldError[] };

/** Documented limits of the v1 contract. */
export const limits = {
  idLength: 256,
  sourceLength: 512,
  typeLength: 256,
  subjectLength: 512,
  maxFutureMs: 5 * 60_000,
} as const;

const requiredText = (input: Record<string, unknown>, field: keyof typeof textLimits, errors: FieldError[]): string | undefined => {
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
  else if (value.length > textLimits[field]) errors.push({ field, message: `${field} is longer than ${textLimits[field]} characters` });
  return value;
};

const textLimits = { id: limits.idLength, source: limits.sourceLength, type: limits.typeLength, subject: limits.subjectLength } as const;

/**
 * Checks one CloudEvents 1.0 usage event. `receivedAt` fills a missing time and bounds future and too-old ones;
 * every problem is reported with its field, so a producer can fix all of them in one go.
 */
export const validateUsageEvent = (input: unknown, receivedAt: Date, horizonDays = 35): Validated => {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
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
    if (!parsed) errors.push({ field: 'time', message: 'time must be an RFC 3339 timestamp with an offset, e.g. 2026-11-25T10:00:00Z' });
    else if (parsed.getTime() > receivedAt.getTime() + limits.maxFutureMs) errors.push({ field: 'time', message: 'time is more than 5 minutes in the future' });
    // Past the horizon an event could no longer be deduplicated exactly (DESIGN.md), so it is refused.
    else if (parsed.getTime() < receivedAt.getTime() - horizonDays * 86_400_000) errors.push({ field: 'time', message: `time is older than the lateness horizon (${horizonDays} days)` });
    else time = parsed;
  }
  const data = body.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) errors.push({ field: 'data', message: 'data must be a JSON object' });
  if (body.datacontenttype !== undefined && body.datacontenttype !== 'application/json') {
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
      data: data as Record<string, unknown>,
    },
  };
};
