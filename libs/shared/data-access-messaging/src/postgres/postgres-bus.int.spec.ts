import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { messageBusContract } from '../testing/message-bus.contract';
import { natsFilterToRegex, PostgresBus } from './postgres-bus';

const schema = uniqueName('bus');

messageBusContract('Postgres (embedded, in-process)', async () => {
  const bus = new PostgresBus({ connectionString: testDatabaseUrl(), schema, pollIntervalMs: 50 });
  await bus.init();
  return bus;
});

afterAll(() => dropSchemas(schema));

describe('NATS subject filters in SQL', () => {
  it.each([
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b-c', 'a.b-c', true],
  ])('%s matches %s: %s', (filter, subject, expected) => expect(new RegExp(natsFilterToRegex(filter)).test(subject)).toBe(expected));
});
