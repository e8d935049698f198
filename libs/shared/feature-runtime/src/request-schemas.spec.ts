import { describe, expect, it } from 'vitest';
import { Currency, Instant, queryInteger, queryText, ResourceKey, z } from './api-schemas';
import { schemaErrors } from './request-schemas';

const account = z.object({
  id: ResourceKey,
  name: z.string().trim().min(1).max(200),
  currency: Currency,
  anchor: z.int().min(1).max(31).optional(),
  kind: z.enum(['a', 'b']).optional(),
  startsAt: Instant.optional(),
});

/** The messages a malformed request gets: one per field, each a sentence naming the field. */
describe('request schema errors', () => {
  it('says nothing of a valid value', () => {
    expect(schemaErrors(account, { id: 'acme', name: 'Acme', currency: 'USD' }, '')).toEqual([]);
  });

  it('names each field and what is wrong with it', () => {
    expect(
      schemaErrors(account, { id: '-x', name: '  ', currency: 'usd', anchor: 40, kind: 'c', startsAt: 3 }, ''),
    ).toEqual([
      {
        field: 'id',
        message: 'id must be 1–128 characters: letters, digits and . : @ + - (not starting with a symbol)',
      },
      { field: 'name', message: 'name must have at least 1 characters' },
      { field: 'currency', message: 'currency must be an ISO 4217 code such as USD or EUR' },
      { field: 'anchor', message: 'anchor must be at most 31' },
      { field: 'kind', message: 'kind must be one of "a", "b"' },
      { field: 'startsAt', message: 'startsAt must be a string' },
    ]);
  });

  it('takes only currencies ISO 4217 has (the rule plans follow), not any three capitals', () => {
    const body = { id: 'acme', name: 'Acme' };
    expect(schemaErrors(account, { ...body, currency: 'EUR' }, '')).toEqual([]);
    expect(schemaErrors(account, { ...body, currency: 'XYZ' }, '')).toEqual([
      { field: 'currency', message: 'currency must be an ISO 4217 code such as USD or EUR' },
    ]);
  });

  it('says what is missing, and a body that is not an object', () => {
    expect(schemaErrors(account, { id: 'acme' }, '')).toEqual([
      { field: 'name', message: 'name is required' },
      { field: 'currency', message: 'currency is required' },
    ]);
    expect(schemaErrors(account, undefined, '')).toEqual([{ field: '', message: 'the body is required' }]);
    expect(schemaErrors(account, [1], '')).toEqual([{ field: '', message: 'the body must be an object' }]);
  });

  it('names query parameters as such, and refuses one given twice', () => {
    const query = z.object({ limit: queryInteger(1, 1_000).optional(), after: queryText().optional() });
    expect(schemaErrors(query, { limit: '0', after: ['a', 'b'] }, 'query parameter')).toEqual([
      { field: 'limit', message: 'query parameter limit must be a whole number from 1 to 1000' },
      { field: 'after', message: 'query parameter after is given more than once' },
    ]);
    expect(schemaErrors(query, { limit: '1000' }, 'query parameter')).toEqual([]);
  });
});
