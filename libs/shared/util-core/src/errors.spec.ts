import { describe, expect, it } from 'vitest';
import { messageOf } from './errors';

describe('messageOf', () => {
  it('takes an Error’s message, a message-bearing object’s, or the value as text', () => {
    expect(messageOf(new TypeError('bad'))).toBe('bad');
    expect(messageOf({ message: 'from a driver', code: '57P01' })).toBe('from a driver');
    expect(messageOf('plain')).toBe('plain');
    expect(messageOf(undefined)).toBe('undefined');
    expect(messageOf({ message: 42 })).toBe('[object Object]');
  });
});
