import { afterAll, describe, expect, it } from 'vitest';
import { dropSchemas, ScratchPostgres, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { messageBusContract } from '../testing/message-bus.contract';
import { natsFilterToRegex, PostgresBus } from './postgres-bus';

const schema = uniqueName('bus');

const openBus = async (connectionString: string) => {
  const bus = new PostgresBus({ connectionString, schema, pollIntervalMs: 50 });
  await bus.init();
  return bus;
};

messageBusContract(
  'Postgres (embedded, in-process)',
  () => openBus(testDatabaseUrl()),
  async () => {
    const postgres = await ScratchPostgres.create();
    return {
      open: () => openBus(postgres.url()),
      down: () => postgres.kill(),
      up: () => postgres.start(),
      destroy: () => postgres.destroy(),
    };
  },
);

afterAll(() => dropSchemas(schema));

describe('NATS subject filters in SQL', () => {
  it.each([
    ['a.*.c', 'a.b.c', true],
    ['a.*.c', 'a.b.d', false],
    ['a.>', 'a.b.c', true],
    ['a.>', 'a', false],
    ['a.b-c', 'a.b-c', true],
  ])('%s matches %s: %s', (filter, subject, expected) =>
    expect(new RegExp(natsFilterToRegex(filter)).test(subject)).toBe(expected),
  );
});
