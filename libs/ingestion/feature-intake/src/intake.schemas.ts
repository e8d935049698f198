import { usageLimits } from '@tally/contracts/usage';
import { Instant, queryInteger, queryText, z } from '@tally/shared/feature-runtime';
import { parseRfc3339 } from '@tally/shared/util-core';

/**
 * Ingestion's request and answer schemas. The three intake bodies (`POST /v1/events`, `POST /api/v1/events`,
 * `POST /v1/events/corrections`) are validated by the handler's own validators (cloud-event.validation.ts,
 * correction.validation.ts: numbers stay exact, a 1,000-event batch is checked in one pass); their schemas here
 * document exactly what those validators accept, and intake.schemas.spec.ts holds the two together. Rules that
 * depend on the moment of receipt (at most 5 minutes ahead, not older than the lateness horizon) only the
 * validators can say.
 */

/** Text Postgres and every consumer can store: no NUL, no lone UTF-16 surrogate (as the validators say). */
const storable = (text: string): boolean => !text.includes('\u0000') && text.isWellFormed();
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const noControlCharacters = /^[^\u0000-\u001f\u007f]*$/;

/** An identifier of an event (id, source, type, subject): not blank, bounded, no control characters. */
const identifier = (maxLength: number, description: string, example: string) =>
  z
    .string()
    .regex(/\S/, { error: 'must not be empty' })
    .max(maxLength)
    .regex(noControlCharacters, { error: 'must not contain control characters' })
    .refine(storable, { error: 'must be well-formed unicode (no lone surrogate)' })
    .meta({ description: `${description}; 1–${maxLength} characters, no control characters`, examples: [example] });

const EventId = identifier(
  usageLimits.idLength,
  'unique per source: (tenant, source, id) identifies the event, and sending it again never counts it twice',
  'inv-7f3a',
);
const EventSource = identifier(
  usageLimits.sourceLength,
  'what produced the event; API keys are scoped to sources',
  '//fn-runtime/eu-1',
);
const EventType = identifier(usageLimits.typeLength, 'what happened', 'fn.invocation');
const EventSubject = identifier(
  usageLimits.subjectLength,
  'who emitted it (an installation, a service): attribution maps it to the paying account',
  'installation-42',
);

/** RFC 3339 with a mandatory offset (the pattern of parseRfc3339), and a date that exists. */
const EventTime = z
  .string()
  .regex(/^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/, {
    error: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-11-25T10:00:00Z',
  })
  .refine((text) => parseRfc3339(text) !== undefined, { error: 'must name a date and time that exist' })
  .meta({
    format: 'date-time',
    description:
      'RFC 3339 with an offset; the time Tally received the event when absent or null. At most 5 minutes ahead ' +
      'of receipt and not older than the lateness horizon (TALLY_LATENESS_HORIZON_DAYS, 35 days by default)',
    examples: ['2026-11-25T10:00:00Z'],
  });

/** Every string and key in `data` is storable. */
const storableThroughout = (value: unknown): boolean => {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return value.every(storableThroughout);
  if (typeof value === 'object' && value !== null)
    return Object.entries(value).every(([key, item]) => storable(key) && storableThroughout(item));
  return true;
};
/** Levels of objects and arrays, the value itself being the first (as the validator counts them). */
const depthOf = (value: unknown): number =>
  typeof value === 'object' && value !== null
    ? 1 + Math.max(0, ...Object.values(value as Record<string, unknown>).map(depthOf))
    : 0;
/** `data` as stored: every number as its decimal text (a JSON string), measured in UTF-8 bytes. */
const utf8 = new TextEncoder();
const storedBytes = (data: unknown): number =>
  utf8.encode(JSON.stringify(data, (_key, value: unknown) => (typeof value === 'number' ? String(value) : value)))
    .length;

/** An event's `data` (and an amendment's): a JSON object; numbers are kept exactly as the decimal text sent. */
export const EventData = z
  .record(z.string(), z.unknown())
  .refine(storableThroughout, { error: 'must not contain NUL characters or invalid unicode in strings or keys' })
  .refine((data) => depthOf(data) <= usageLimits.dataDepth, {
    error: `must nest at most ${usageLimits.dataDepth} levels of objects and arrays`,
  })
  .refine((data) => storedBytes(data) <= usageLimits.dataBytes, {
    error: `must be at most ${usageLimits.dataBytes} bytes as JSON`,
  })
  .meta({
    description:
      `a JSON object, at most ${usageLimits.dataBytes} bytes as JSON (numbers counted as their decimal text in quotes); ` +
      'every number is kept exactly as the decimal text it was sent as, never read into a binary float; ' +
      'no string or key may contain NUL or a lone UTF-16 surrogate',
    examples: [{ gbSeconds: '0.25', region: 'eu-1' }],
  });

/**
 * Examples of request bodies are sent to their routes by the API contract test, any day: they carry no `time` (the
 * receive time then), which a fixed date would soon put past the lateness horizon. The event's own example has one.
 */
const eventExample = {
  specversion: '1.0',
  id: 'inv-7f3a',
  source: '//fn-runtime/eu-1',
  type: 'fn.invocation',
  subject: 'installation-42',
  data: { gbSeconds: '0.25', region: 'eu-1' },
} as const;

/** One usage event: a CloudEvents 1.0 JSON event (docs/telemetry-contract.md). */
export const CloudEvent = z
  .object({
    specversion: z.literal('1.0'),
    id: EventId,
    source: EventSource,
    type: EventType,
    subject: EventSubject,
    time: EventTime.nullable().optional(),
    data: EventData.nullable().optional().meta({ description: 'an empty object when absent or null' }),
    datacontenttype: z
      .literal('application/json')
      .nullable()
      .optional()
      .meta({ description: 'application/json when present (null: not given)' }),
  })
  .meta({
    id: 'CloudEvent',
    description:
      'A usage event as a CloudEvents 1.0 JSON event. Other CloudEvents attributes (extensions, dataschema) are ' +
      'allowed and ignored.',
    examples: [{ ...eventExample, time: '2026-11-25T10:00:00Z' }],
  });

/** One event, or a batch of 1 to 1,000. */
const eventsOrBatch = z.union([CloudEvent, z.array(CloudEvent).min(1).max(usageLimits.batchEvents)]);

/** POST /v1/events: one event or a batch; each event is judged on its own. */
export const IntakeBody = eventsOrBatch.meta({
  description:
    `One event, or an array of 1 to ${usageLimits.batchEvents} (the body at most 5 MiB). ` +
    'No body, an empty array or more than that is refused (400; `batch-too-large` past the limit); any other ' +
    'item that is not a valid event does not fail the request: its result says `rejected` with the reasons.',
  examples: [
    [
      eventExample,
      {
        specversion: '1.0',
        id: 'kv-read-91c2',
        source: '//kv/eu-1',
        type: 'kv.read',
        subject: 'installation-42',
        data: { reads: 12, bytes: 49152 },
      },
    ],
  ],
});

/** POST /api/v1/events: one event or a batch, all or nothing. */
export const OpenMeterIntakeBody = eventsOrBatch.meta({
  description:
    'As OpenMeter: `application/cloudevents+json` with one event, `application/cloudevents-batch+json` with an ' +
    `array of 1 to ${usageLimits.batchEvents}, or \`application/json\` with either. All or nothing: if any event is ` +
    'invalid the answer is 400 naming each (index, field, message), if any source is not allowed for the key 403, ' +
    'and then nothing is stored.',
  examples: [[eventExample]],
});

/** A field error as intake reports it. */
const FieldError = z.object({ field: z.string(), message: z.string() });

export const EventResult = z
  .object({
    index: z.int().min(0).meta({ description: 'the position of the event in the request' }),
    id: z.string().nullable().meta({ description: 'the id as sent; null when it was not a string' }),
    source: z.string().nullable().meta({ description: 'the source as sent; null when it was not a string' }),
    status: z.enum(['accepted', 'duplicate', 'rejected']).meta({
      description:
        'accepted: stored in the stream (not a promise that it is new: the ledger decides exactly); duplicate: ' +
        'Tally already has an event with this source and id — earlier in this request, a request the stream already ' +
        'stored, or an earlier request whose copy was accepted (counted once either way); rejected: see errors',
    }),
    errors: z.array(FieldError).optional().meta({ description: 'why, when rejected' }),
    forbidden: z
      .literal(true)
      .optional()
      .meta({ description: 'present when rejected because this API key may not use the source' }),
  })
  .meta({ id: 'EventResult' });

export const IntakeAnswer = z
  .object({
    accepted: z.int().min(0),
    duplicate: z.int().min(0),
    rejected: z.int().min(0),
    results: z.array(EventResult).meta({ description: 'one per event, in input order' }),
  })
  .meta({ id: 'IntakeAnswer' });

const CorrectionReason = z
  .string()
  .regex(/\S/, { error: 'must not be empty' })
  .max(1_024)
  .meta({ description: 'why the event is corrected, for the audit trail (stored trimmed)' });

const VoidCorrection = z.object({
  action: z.literal('void'),
  source: EventSource,
  id: EventId,
  reason: CorrectionReason,
  data: z.never().optional().meta({ description: 'a void carries no data' }),
});

const AmendCorrection = z.object({
  action: z.literal('amend'),
  source: EventSource,
  id: EventId,
  reason: CorrectionReason,
  data: EventData.meta({
    description: "the event's new data (replaces it whole), held to the rules of an event's data",
  }),
});

/** A correction of an event already sent, named by (source, id). */
export const UsageCorrection = z.discriminatedUnion('action', [VoidCorrection, AmendCorrection]).meta({
  id: 'UsageCorrection',
  description:
    'void takes the event out of usage; amend replaces its data (type, subject and time cannot be amended). ' +
    'Either is a new ledger event, never an edit; whether the original exists is not checked here.',
  examples: [
    { action: 'amend', source: '//fn-runtime/eu-1', id: 'inv-7f3a', reason: 'meter bug', data: { gbSeconds: '0.20' } },
  ],
});

/** POST /v1/events/corrections: one correction or a batch; each is judged on its own. */
export const CorrectionsBody = z
  .union([UsageCorrection, z.array(UsageCorrection).min(1).max(usageLimits.batchEvents)])
  .meta({
    description:
      `One correction, or an array of 1 to ${usageLimits.batchEvents}; no body, an empty array or more than that ` +
      'is refused (400). Any other item that is not a valid correction does not fail the request: its result ' +
      'says `rejected` with the reasons.',
    examples: [
      [
        { action: 'void', source: '//fn-runtime/eu-1', id: 'inv-7f3a', reason: 'synthetic test traffic' },
        {
          action: 'amend',
          source: '//fn-runtime/eu-1',
          id: 'inv-7f3b',
          reason: 'meter bug',
          data: { gbSeconds: '0.20', region: 'eu-1' },
        },
      ],
    ],
  });

export const CorrectionResult = z
  .object({
    index: z.int().min(0).meta({ description: 'the position of the correction in the request' }),
    id: z.string().nullable().meta({ description: 'the id as sent; null when it was not a string' }),
    source: z.string().nullable().meta({ description: 'the source as sent; null when it was not a string' }),
    status: z.enum(['accepted', 'rejected']),
    errors: z.array(FieldError).optional().meta({ description: 'why, when rejected' }),
  })
  .meta({ id: 'CorrectionResult' });

export const CorrectionsAnswer = z
  .object({
    accepted: z.int().min(0),
    rejected: z.int().min(0),
    results: z.array(CorrectionResult).meta({ description: 'one per correction, in input order' }),
  })
  .meta({ id: 'CorrectionsAnswer' });

export const eventStatusQuery = z.object({
  source: queryText()
    .min(1)
    .meta({ description: "the event's source", examples: ['//fn-runtime/eu-1'] }),
  id: queryText()
    .min(1)
    .meta({ description: "the event's id", examples: ['inv-7f3a'] }),
});

export const EventStatus = z
  .object({
    source: z.string(),
    id: z.string(),
    status: z.enum(['rejected', 'accepted', 'recorded', 'parked', 'attributed', 'voided']).meta({
      description:
        'the furthest step: rejected (see rejection) → accepted (stored in the stream) → recorded (in the ledger) ' +
        '→ parked (no account yet) or attributed → voided',
    }),
    accountId: z.string().nullable().meta({ description: 'the account the usage is attributed to' }),
    rejection: z.array(FieldError).nullable().meta({ description: 'why intake refused it, when rejected' }),
    parkedReason: z
      .enum(['unknown_subject', 'no_owner_at_time', 'no_subscription'])
      .nullable()
      .meta({ description: 'why it was parked, when it was' }),
    voidReason: z.string().nullable(),
    amendReason: z.string().nullable().meta({ description: 'the reason of the latest amendment' }),
    timestamps: z.object({
      acceptedAt: Instant.nullable(),
      rejectedAt: Instant.nullable(),
      recordedAt: Instant.nullable(),
      parkedAt: Instant.nullable(),
      attributedAt: Instant.nullable(),
      voidedAt: Instant.nullable(),
      amendedAt: Instant.nullable(),
    }),
  })
  .meta({ id: 'EventStatus' });

/** A source an API key may use: exact, or a prefix ending in `*` (`*` alone: any source). */
const SourcePattern = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^*]*\*?$/, { error: "may only have '*' at its end" })
  .meta({ description: 'an exact source, or a prefix ending in `*`; `*` alone allows any', examples: ['//kv/*'] });

export const ApiKeyRequest = z
  .object({
    name: z
      .string()
      .regex(/\S/, { error: 'must not be blank' })
      .max(128)
      .meta({ description: 'what the key is for, 1–128 characters (stored trimmed)' }),
    allowedSources: z.array(SourcePattern).min(1).max(100),
  })
  .meta({ id: 'ApiKeyRequest', examples: [{ name: 'kv store', allowedSources: ['//kv/*'] }] });

export const ApiKey = z
  .object({
    id: z.uuid(),
    tenant: z.string(),
    name: z.string(),
    prefix: z.string().meta({ description: "the key's first 12 characters, to recognise it" }),
    allowedSources: z.array(z.string()),
    createdAt: Instant,
    revokedAt: Instant.nullable(),
  })
  .meta({ id: 'ApiKey' });

export const NewApiKey = ApiKey.extend({
  key: z.string().meta({
    description: 'the key itself (`tally_` and 43 more characters): shown in this answer only, never again',
  }),
}).meta({ id: 'NewApiKey' });

export const ApiKeyList = z.object({ items: z.array(ApiKey).meta({ description: 'oldest first; no secrets' }) });

export const apiKeyIdParam = z.object({
  id: z.string().meta({ description: "the key's id (a UUID; any other text answers 404)" }),
});

// ---- GET /api/v1/events (OpenMeter's listEvents) ----

const listedInstant = () => Instant.optional();

export const listEventsQuery = z.object({
  from: listedInstant().meta({ description: 'event time, inclusive; by default 72 hours before `to`' }),
  to: listedInstant().meta({ description: 'event time, inclusive; by default now' }),
  ingestedAtFrom: listedInstant().meta({ description: 'acceptance time, inclusive' }),
  ingestedAtTo: listedInstant().meta({ description: 'acceptance time, inclusive' }),
  id: queryText().max(usageLimits.idLength).optional().meta({ description: 'the event id, or part of it' }),
  subject: queryText().max(usageLimits.subjectLength).optional().meta({ description: 'the subject, or part of it' }),
  customerId: z
    .union([queryText(), z.array(queryText()).max(100)])
    .optional()
    .meta({ description: 'accounts (OpenMeter’s customers): only events attributed to them' }),
  limit: queryInteger(1, 100).optional().meta({ description: 'at most this many (100 by default)' }),
  clientId: queryText().max(36).optional().meta({ description: 'accepted and unused' }),
});

export const IngestedEvents = z.array(
  z
    .object({
      event: z.object({
        id: z.string(),
        source: z.string(),
        specversion: z.literal('1.0'),
        type: z.string(),
        subject: z.string(),
        time: Instant,
        data: z.record(z.string(), z.unknown()),
      }),
      validationError: z.string().optional().meta({ description: 'why the event does not count, if it does not' }),
      ingestedAt: Instant,
      storedAt: Instant.meta({ description: 'when it was recorded in the ledger (its acceptance until then)' }),
    })
    .meta({ id: 'IngestedEvent' }),
);

// ---- GET /v1/admin/intake ----

const intakeWindowRate = z.object({
  accepted: z.int().min(0).meta({ description: 'events first accepted in the window' }),
  perSecond: z
    .string()
    .regex(/^\d+\.\d$/)
    .meta({ description: 'accepted ÷ the window’s seconds, one decimal (half up)', examples: ['12.5'] }),
});

export const IntakeRate = z
  .object({
    lastMinute: intakeWindowRate,
    last15Minutes: intakeWindowRate,
    lastHour: intakeWindowRate,
    newestAcceptedAt: Instant.nullable().meta({ description: 'the newest acceptance ever; null before the first' }),
    at: Instant.meta({ description: 'the moment every window ends at' }),
  })
  .meta({ id: 'IntakeRate' });
