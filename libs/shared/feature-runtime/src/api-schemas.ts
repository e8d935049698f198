import * as z from 'zod';
import { isCurrency, parseRfc3339 } from '@tally/shared/util-core';

/**
 * Building blocks of the request and response schemas (zod). Each route declares its schemas beside its
 * controller (`@ApiDoc({ params, query, body, responses })`); the same schemas validate the request
 * (RequestSchemaInterceptor) and write the OpenAPI document (openapi.ts) — one source of truth for what a
 * request may be and what an answer is. Rules a schema cannot say (a time zone that exists, an end after a
 * start) stay in the domain's validators.
 */

/** A query parameter taken once: `?x=a&x=b` arrives as an array and is refused as such. */
export const queryText = () => z.string();

/** A whole number in a query parameter (`?limit=100`). */
export const queryInteger = (min: number, max: number) =>
  queryText()
    .regex(/^\d{1,9}$/, { error: `must be a whole number from ${min} to ${max}` })
    .refine((text) => Number(text) >= min && Number(text) <= max, {
      error: `must be a whole number from ${min} to ${max}`,
    })
    .meta({ examples: [String(Math.min(max, 100))] });

/** Keys that appear in stream names (accounts, subscriptions, subjects, plans): bounded, no whitespace. */
export const ResourceKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$/, {
    error: 'must be 1–128 characters: letters, digits and . : @ + - (not starting with a symbol)',
  })
  .meta({ id: 'ResourceKey', examples: ['acme-corp'] });

/** An instant as RFC 3339 with an offset; the domain parses it exactly. */
export const Instant = z
  .string()
  .refine((text) => parseRfc3339(text) !== undefined, {
    error: 'must be an RFC 3339 timestamp with an offset, e.g. 2026-11-01T00:00:00Z',
  })
  .meta({
    id: 'Instant',
    format: 'date-time',
    description: 'RFC 3339 with an offset',
    examples: ['2026-11-01T00:00:00Z'],
  });

/** An exact decimal written as a string (amounts, quantities): never a binary float. */
export const Decimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, { error: 'must be an exact decimal written as a string, such as "12.50"' })
  .meta({ id: 'Decimal', description: 'An exact decimal as a string', examples: ['12.50'] });

/** An ISO 4217 currency code. */
export const Currency = z
  .string()
  // One rule for accounts and plans: three capitals is not enough (XYZ is none). The pattern is for the document.
  .refine(isCurrency, { error: 'must be an ISO 4217 code such as USD or EUR' })
  .meta({ id: 'Currency', pattern: '^[A-Z]{3}$', examples: ['USD'] });

/** A month as `YYYY-MM` (billing periods, reconciliations). */
export const Month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: 'must be a month as YYYY-MM' })
  .meta({ id: 'Month', examples: ['2026-11'] });

export { z };
