import { UsageCorrectionV1, usageLimits } from '@tally/contracts/usage';
import { FieldError, validateUsageEvent } from './cloud-event.validation';

export type ValidatedCorrection = { ok: true; correction: UsageCorrectionV1 } | { ok: false; errors: FieldError[] };

const maxReasonLength = 1_024;

/**
 * A correction names the event by (source, id) and says why. An amendment's `data` is held to the
 * same rules as an event's (exact numbers, size, unicode), by validating it as part of a probe event.
 */
export const validateCorrection = (input: unknown, receivedAt: Date): ValidatedCorrection => {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    return { ok: false, errors: [{ field: '', message: 'a correction must be a JSON object' }] };
  const body = input as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (body.action !== 'void' && body.action !== 'amend')
    errors.push({ field: 'action', message: 'action must be "void" or "amend"' });
  if (typeof body.reason !== 'string' || body.reason.trim() === '')
    errors.push({ field: 'reason', message: 'reason is required: say why the event is corrected' });
  else if (body.reason.length > maxReasonLength)
    errors.push({ field: 'reason', message: `reason is longer than ${maxReasonLength} characters` });
  if (body.action === 'void' && body.data !== undefined)
    errors.push({ field: 'data', message: 'a void carries no data' });
  if (body.action === 'amend' && (typeof body.data !== 'object' || body.data === null || Array.isArray(body.data)))
    errors.push({ field: 'data', message: 'an amendment carries the new data object' });

  // Reuse the event rules for source, id and data.
  const probe = validateUsageEvent(
    {
      specversion: '1.0',
      id: body.id,
      source: body.source,
      type: 'correction',
      subject: 'correction',
      data: body.action === 'amend' ? body.data : undefined,
    },
    receivedAt,
  );
  if (!probe.ok)
    errors.push(...probe.errors.filter((e) => e.field === 'id' || e.field === 'source' || e.field.startsWith('data')));
  if (errors.length > 0 || !probe.ok) return { ok: false, errors };
  const { source, id, data } = probe.event;
  const reason = (body.reason as string).trim();
  return {
    ok: true,
    correction:
      body.action === 'void' ? { action: 'void', source, id, reason } : { action: 'amend', source, id, reason, data },
  };
};

export const correctionLimits = { maxReasonLength, batch: usageLimits.batchEvents } as const;
