import { describe, expect, it } from 'vitest';
import { deterministicUuid, isUuid, canonicalJson } from './ids';

describe('deterministicUuid', () => {
  it('is stable for the same namespace and parts', () =>
    expect(deterministicUuid('usage', 't1', 'src', '1')).toBe(deterministicUuid('usage', 't1', 'src', '1')));

  it('separates parts, so shifting a boundary changes the id', () =>
    expect(deterministicUuid('usage', 'ab', 'c')).not.toBe(deterministicUuid('usage', 'a', 'bc')));

  it('is a version-5 shaped UUID', () => {
    const id = deterministicUuid('usage', 'x');
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('5');
  });
});

describe('canonicalJson', () => {
  it('gives one text per value, whatever the key order at any depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ y: 1, x: 2 }], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [{ x: 2, y: 1 }] }, b: 1 }),
    );
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });
});
