import { describe, expect, it } from 'vitest';
import { deterministicUuid, isUuid } from './ids';

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
