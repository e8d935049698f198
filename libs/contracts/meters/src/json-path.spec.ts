import { describe, expect, it } from 'vitest';
import { parseJsonPath, readPath } from './json-path';

const data = { tokens: { input: '120', output: '80' }, 'model name': 'gpt', regions: ['eu', 'us'] };

describe('JSONPath', () => {
  it.each([
    ['$.tokens.input', '120'],
    ["$['model name']", 'gpt'],
    ['$["tokens"].output', '80'],
    ['$.regions[1]', 'us'],
    ['$.tokens.missing', undefined],
    ['$.regions[5]', undefined],
    ['$.tokens.input.deeper', undefined],
  ])('%s reads %s', (path, expected) => {
    const parsed = parseJsonPath(path);
    expect(parsed.ok && readPath(data, parsed.segments)).toBe(expected);
  });

  it.each(['tokens', '$', '$..tokens', '$.tokens[*]', '$.a[?(@.b)]', '$.9lives', "$['unterminated]"])(
    'refuses %s',
    (path) => expect(parseJsonPath(path).ok).toBe(false),
  );

  it('does not read inherited properties', () => {
    const parsed = parseJsonPath('$.constructor');
    expect(parsed.ok && readPath({}, parsed.segments)).toBeUndefined();
  });
});
