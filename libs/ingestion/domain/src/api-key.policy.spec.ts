import { describe, expect, it } from 'vitest';
import { sourceAllowed, validateApiKeyRequest } from './api-key.policy';

describe('sourceAllowed', () => {
  it.each([
    [['//fn-runtime/eu-1'], '//fn-runtime/eu-1', true],
    [['//fn-runtime/eu-1'], '//fn-runtime/eu-10', false],
    [['//fn-runtime/*'], '//fn-runtime/eu-10', true],
    [['//fn-runtime/*'], '//kv-store/eu-1', false],
    [['*'], '//anything', true],
    [[], '//anything', false],
  ])('%j allows %s: %s', (patterns, source, expected) => expect(sourceAllowed(patterns, source)).toBe(expected));
});

describe('validateApiKeyRequest', () => {
  it('accepts a name and patterns', () =>
    expect(validateApiKeyRequest({ name: ' fn runtime ', allowedSources: ['//fn/*'] })).toEqual({
      ok: true,
      value: { name: 'fn runtime', allowedSources: ['//fn/*'] },
    }));
  it.each([
    [{ allowedSources: ['x'] }, 'name'],
    [{ name: 'a', allowedSources: [] }, 'allowedSources'],
    [{ name: 'a', allowedSources: ['a*b'] }, 'allowedSources[0]'],
    [{ name: 'a', allowedSources: [42] }, 'allowedSources[0]'],
  ])('refuses %j naming %s', (input, field) => {
    const result = validateApiKeyRequest(input);
    expect(!result.ok && result.errors.map((e) => e.field)).toContain(field);
  });
});
