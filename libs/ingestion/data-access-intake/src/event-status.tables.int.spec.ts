import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { usageLedgerId } from '@tally/contracts/usage';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { intakeMigrations } from './migrations';
import { EventStatusTables, StatusKey } from './event-status.tables';

const namespace = uniqueName('knownbefore');
const source = '//fn-runtime/eu-1';
const keyOf = (id: string, tenant = 't1'): StatusKey => ({
  usageId: usageLedgerId(tenant, source, id),
  tenant,
  source,
  eventId: id,
});

/** What intake's duplicate lookup may take for an earlier copy: accepted or recorded strictly before the request. */
describe('EventStatusTables.knownBefore', () => {
  let db: DataSource;
  let tables: EventStatusTables;
  const known = async (before: string, ...ids: string[]) => {
    const usageIds = await tables.knownBefore(
      db,
      ids.map((id) => keyOf(id).usageId),
      before,
    );
    return ids.filter((id) => usageIds.includes(keyOf(id).usageId));
  };

  beforeAll(async () => {
    const schema = `${namespace}_ingestion`;
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: intakeMigrations });
    tables = new EventStatusTables(schema);
    await tables.accepted(db, [keyOf('accepted')], '2026-11-20T10:00:00.000Z');
    // The ledger ahead of the status consumer (after an outage of the consumer): recorded, not yet accepted.
    await tables.recorded(db, [
      { ...keyOf('recorded'), at: '2026-11-20T10:00:00.000Z', parkedReason: null, accountId: 'acme' },
    ]);
    await tables.rejected(
      db,
      [{ ...keyOf('rejected'), errors: [{ field: 'time', message: 'too late' }] }],
      '2026-11-20T09:00:00.000Z',
    );
    // A void that arrived before its event: the row exists, the event does not.
    await tables.voided(db, keyOf('voided-first'), 'test traffic', '2026-11-20T09:00:00.000Z');
    await tables.accepted(db, [keyOf('other-tenant', 't2')], '2026-11-20T09:00:00.000Z');
  });
  afterAll(async () => {
    await db?.destroy();
    await dropSchemas(namespace);
  });

  it.each([
    // a millisecond after the first copy's instant: known
    { before: '2026-11-20T10:00:00.001Z', found: ['accepted', 'recorded'] },
    // at the very instant: the asking request's own copy, never taken for an earlier one
    { before: '2026-11-20T10:00:00.000Z', found: [] },
    { before: '2026-11-20T09:59:59.999Z', found: [] },
  ])('before $before finds $found', async ({ before, found }) =>
    expect(
      await known(before, 'accepted', 'recorded', 'rejected', 'voided-first', 'other-tenant', 'never-sent'),
    ).toEqual(found),
  );

  it('asks nothing for no ids', async () =>
    expect(await tables.knownBefore(db, [], '2026-11-21T00:00:00.000Z')).toEqual([]));
});
