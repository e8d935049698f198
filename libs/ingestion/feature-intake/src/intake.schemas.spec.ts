import { describe, expect, it } from 'vitest';
import { validateApiKeyRequest, validateCorrection, validateUsageEvent } from '@tally/ingestion/domain';
import { usageLimits } from '@tally/contracts/usage';
import { parseExactJson, z } from '@tally/shared/feature-runtime';
import { batchOf } from './batch';
import {
  ApiKeyRequest,
  CloudEvent,
  CorrectionsBody,
  EventData,
  IntakeBody,
  OpenMeterIntakeBody,
  UsageCorrection,
} from './intake.schemas';

/**
 * The intake bodies are validated by the handler's validators, not by their schemas (bodyCheckedBy): this holds
 * the two together — what the document shows passes the validators, and what the validators refuse the schemas
 * refuse too.
 */

const examplesOf = (schema: z.ZodType): unknown[] => (z.globalRegistry.get(schema)?.examples as unknown[]) ?? [];
/** As the HTTP intake reads a body: numbers as ExactNumber. */
const exactly = (value: unknown): unknown => parseExactJson(JSON.stringify(value));
/** Just after the examples' times, so that none is in the future nor past the lateness horizon. */
const receivedAt = new Date('2026-11-25T10:01:00Z');

const event = {
  specversion: '1.0',
  id: 'inv-7f3a',
  source: '//fn-runtime/eu-1',
  type: 'fn.invocation',
  subject: 'installation-42',
  time: '2026-11-25T10:00:00Z',
  data: { gbSeconds: 0.25, region: 'eu-1' },
};
const without = (key: string) => Object.fromEntries(Object.entries(event).filter(([k]) => k !== key));

/** Every event of a body (one or a batch) as the validator gets it. */
const eventsOf = (body: unknown) => batchOf(exactly(body), 'event');

describe('intake schemas and the intake validators agree', () => {
  it.each([
    ['IntakeBody', IntakeBody],
    ['OpenMeterIntakeBody', OpenMeterIntakeBody],
  ])('the examples of %s pass the schema and validateUsageEvent, as JSON and as exactly parsed', (_, schema) => {
    const examples = [...examplesOf(schema), ...examplesOf(CloudEvent)];
    expect(examples.length).toBeGreaterThan(1);
    for (const example of examples) {
      expect(schema.safeParse(example).error).toBeUndefined();
      for (const item of eventsOf(example)) {
        expect(validateUsageEvent(item, receivedAt)).toMatchObject({ ok: true });
        // The API contract test sends the body examples to their routes on any day: today must do too.
        if (examplesOf(schema).includes(example))
          expect(validateUsageEvent(item, new Date())).toMatchObject({ ok: true });
        expect(validateUsageEvent(JSON.parse(JSON.stringify(item)) as unknown, receivedAt)).toMatchObject({
          ok: true,
        });
      }
    }
  });

  it("the example of an event's data is valid data", () => {
    for (const data of examplesOf(EventData)) {
      expect(EventData.safeParse(data).success).toBe(true);
      expect(validateUsageEvent(exactly({ ...event, data }), receivedAt)).toMatchObject({ ok: true });
    }
  });

  it('accepts what the validator accepts beyond the example: no time, null time and data, extensions, offsets', () => {
    for (const accepted of [
      without('time'),
      without('data'),
      { ...event, time: null, data: null },
      { ...event, time: '2026-11-25T11:00:00.123456789+01:00', datacontenttype: 'application/json' },
      { ...event, datacontenttype: null },
      { ...event, data: {}, dataschema: 'https://example.com/schema', traceparent: 'x' },
      { ...event, id: 'ü'.repeat(usageLimits.idLength), subject: ' inst 42 ' },
      { ...event, data: { nested: { list: [1, 'two', null, true] }, small: 0.1, negative: -3 } },
    ]) {
      expect(CloudEvent.safeParse(accepted).error).toBeUndefined();
      expect(validateUsageEvent(exactly(accepted), receivedAt)).toMatchObject({ ok: true });
    }
  });

  it.each<[string, unknown]>([
    ['not an object', 'hello'],
    ['null', null],
    ['an array as an event', [event]],
    ['missing id', without('id')],
    ['null id', { ...event, id: null }],
    ['a number as id', { ...event, id: 42 }],
    ['a blank source', { ...event, source: '  ' }],
    ['missing type', without('type')],
    ['missing subject', without('subject')],
    ['an id too long', { ...event, id: 'x'.repeat(usageLimits.idLength + 1) }],
    ['a subject too long', { ...event, subject: 'x'.repeat(usageLimits.subjectLength + 1) }],
    ['a control character in the type', { ...event, type: 'fn\ninvocation' }],
    ['a NUL in the source', { ...event, source: '//fn\u0000' }],
    ['a lone surrogate in the id', { ...event, id: 'inv-\ud800' }],
    ['missing specversion', without('specversion')],
    ['the wrong specversion', { ...event, specversion: '0.3' }],
    ['specversion as a number', { ...event, specversion: 1 }],
    ['a time without an offset', { ...event, time: '2026-11-25T10:00:00' }],
    ['a date-only time', { ...event, time: '2026-11-25' }],
    ['a time that does not exist', { ...event, time: '2026-02-30T10:00:00Z' }],
    ['words as a time', { ...event, time: 'yesterday' }],
    ['a number as time', { ...event, time: 1_764_064_800 }],
    ['an array as data', { ...event, data: [1] }],
    ['a string as data', { ...event, data: 'gbSeconds=1' }],
    ['a number as data', { ...event, data: 5 }],
    ['data with a NUL', { ...event, data: { region: 'eu\u0000' } }],
    ['data with a lone surrogate in a key', { ...event, data: { ['\udc00']: 1 } }],
    ['data too large', { ...event, data: { blob: 'x'.repeat(usageLimits.dataBytes) } }],
    ['a datacontenttype other than JSON', { ...event, datacontenttype: 'text/plain' }],
    [
      'data nested 33 levels deep',
      {
        ...event,
        data: Array.from({ length: 32 }).reduce<Record<string, unknown>>((inner) => ({ inner }), { v: '1' }),
      },
    ],
  ])('refuses an event with %s, in the schema and in validateUsageEvent', (_, malformed) => {
    expect(CloudEvent.safeParse(malformed).success).toBe(false);
    expect(validateUsageEvent(exactly(malformed), receivedAt)).toMatchObject({ ok: false });
    expect(validateUsageEvent(malformed, receivedAt)).toMatchObject({ ok: false });
  });

  it('counts data as the validator stores it: numbers as their text in quotes', () => {
    // {"blob":"x…","n":"1"} is the blob's length + 19 bytes stored, though {"blob":"x…","n":1} is 2 fewer.
    const withBlob = (length: number) => ({ blob: 'x'.repeat(length), n: 1 });
    for (const [data, fits] of [
      [withBlob(usageLimits.dataBytes - 19), true],
      [withBlob(usageLimits.dataBytes - 18), false],
    ] as const) {
      expect(CloudEvent.safeParse({ ...event, data }).success).toBe(fits);
      expect(validateUsageEvent(exactly({ ...event, data }), receivedAt).ok).toBe(fits);
    }
  });

  it('refuses an empty batch and one over the limit, in the schema and in the handler (batchOf)', () => {
    for (const batch of [[], Array.from({ length: usageLimits.batchEvents + 1 }, () => event)]) {
      expect(IntakeBody.safeParse(batch).success).toBe(false);
      expect(OpenMeterIntakeBody.safeParse(batch).success).toBe(false);
      expect(() => batchOf(batch, 'event')).toThrow();
    }
    const full = Array.from({ length: usageLimits.batchEvents }, (_, i) => ({ ...event, id: `inv-${i}` }));
    expect(IntakeBody.safeParse(full).success).toBe(true);
    expect(batchOf(full, 'event')).toHaveLength(usageLimits.batchEvents);
  });

  it('leaves to the validator what depends on the moment of receipt: the future and the lateness horizon', () => {
    for (const time of ['2026-11-25T10:06:01Z', '2026-10-01T00:00:00Z']) {
      expect(CloudEvent.safeParse({ ...event, time }).success).toBe(true);
      expect(validateUsageEvent(exactly({ ...event, time }), receivedAt)).toMatchObject({
        ok: false,
        errors: [{ field: 'time' }],
      });
    }
  });
});

describe('correction schemas and validateCorrection agree', () => {
  const amend = {
    action: 'amend',
    source: '//fn-runtime/eu-1',
    id: 'inv-7f3a',
    reason: 'meter bug',
    data: { gbSeconds: 0.2 },
  };
  const voiding = { action: 'void', source: '//fn-runtime/eu-1', id: 'inv-7f3a', reason: 'synthetic test traffic' };

  it('the examples pass the schema and validateCorrection, as JSON and as exactly parsed', () => {
    const examples = [...examplesOf(CorrectionsBody), ...examplesOf(UsageCorrection)];
    expect(examples.length).toBeGreaterThan(1);
    for (const example of examples) {
      expect(CorrectionsBody.safeParse(example).error).toBeUndefined();
      for (const item of batchOf(exactly(example), 'correction')) {
        expect(validateCorrection(item, receivedAt)).toMatchObject({ ok: true });
        expect(validateCorrection(JSON.parse(JSON.stringify(item)) as unknown, receivedAt)).toMatchObject({
          ok: true,
        });
      }
    }
  });

  it('accepts a void, an amendment with empty data, and a reason of 1,024 characters', () => {
    for (const accepted of [voiding, { ...amend, data: {} }, { ...voiding, reason: 'r'.repeat(1_024) }]) {
      expect(UsageCorrection.safeParse(accepted).error).toBeUndefined();
      expect(validateCorrection(exactly(accepted), receivedAt)).toMatchObject({ ok: true });
    }
  });

  it.each<[string, unknown]>([
    ['not an object', 'void it'],
    ['an array as a correction', [voiding]],
    ['no action', { ...voiding, action: undefined }],
    ['an unknown action', { ...voiding, action: 'delete' }],
    ['no reason', { ...voiding, reason: undefined }],
    ['a blank reason', { ...voiding, reason: '   ' }],
    ['a reason too long', { ...voiding, reason: 'r'.repeat(1_025) }],
    ['a void with data', { ...voiding, data: { gbSeconds: 1 } }],
    ['a void with null data', { ...voiding, data: null }],
    ['an amendment without data', { ...amend, data: undefined }],
    ['an amendment with null data', { ...amend, data: null }],
    ['an amendment with an array', { ...amend, data: [1] }],
    ['an amendment with data too large', { ...amend, data: { blob: 'x'.repeat(usageLimits.dataBytes) } }],
    ['no source', { ...voiding, source: undefined }],
    ['a number as id', { ...voiding, id: 7 }],
    ['an id too long', { ...voiding, id: 'x'.repeat(usageLimits.idLength + 1) }],
    ['a control character in the source', { ...voiding, source: '//fn\t1' }],
  ])('refuses a correction with %s, in the schema and in validateCorrection', (_, malformed) => {
    expect(UsageCorrection.safeParse(malformed).success).toBe(false);
    expect(validateCorrection(malformed, receivedAt)).toMatchObject({ ok: false });
  });

  it('refuses an empty batch and one over the limit, in the schema and in the handler (batchOf)', () => {
    for (const batch of [[], Array.from({ length: usageLimits.batchEvents + 1 }, () => voiding)]) {
      expect(CorrectionsBody.safeParse(batch).success).toBe(false);
      expect(() => batchOf(batch, 'correction')).toThrow();
    }
  });
});

describe('the API key request schema and validateApiKeyRequest agree', () => {
  it('the example passes both', () => {
    for (const example of examplesOf(ApiKeyRequest)) {
      expect(ApiKeyRequest.safeParse(example).success).toBe(true);
      expect(validateApiKeyRequest(example)).toMatchObject({ ok: true });
    }
  });

  it.each<[string, unknown]>([
    ['a blank name', { name: '  ', allowedSources: ['*'] }],
    ['a name too long', { name: 'n'.repeat(129), allowedSources: ['*'] }],
    ['no sources', { name: 'kv', allowedSources: [] }],
    ['too many sources', { name: 'kv', allowedSources: Array.from({ length: 101 }, (_, i) => `//s${i}`) }],
    ['an empty pattern', { name: 'kv', allowedSources: [''] }],
    ['a star inside a pattern', { name: 'kv', allowedSources: ['//kv/*/eu'] }],
    ['a string for the sources', { name: 'kv', allowedSources: '*' }],
    ['an array as the body', [{ name: 'kv', allowedSources: ['*'] }]],
  ])('refuses %s in both', (_, malformed) => {
    expect(ApiKeyRequest.safeParse(malformed).success).toBe(false);
    expect(validateApiKeyRequest(malformed)).toMatchObject({ ok: false });
  });

  it('accepts in both what the validator trims and the edge lengths', () => {
    for (const accepted of [
      { name: ' kv ', allowedSources: ['*'] },
      { name: 'n'.repeat(128), allowedSources: ['s'.repeat(512)] },
    ]) {
      expect(ApiKeyRequest.safeParse(accepted).success).toBe(true);
      expect(validateApiKeyRequest(accepted)).toMatchObject({ ok: true });
    }
  });
});
