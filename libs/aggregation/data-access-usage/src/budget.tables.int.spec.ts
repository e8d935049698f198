import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { Budget } from '@tally/aggregation/domain';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { BudgetTables } from './budget.tables';
import { rollupMigrations } from './migrations';

const namespace = uniqueName('budgets');
const schema = `${namespace}_aggregation`;
const budget = (budgetId: string, accountId: string): Budget => ({
  budgetId,
  accountId,
  meter: 'forge-functions',
  app: null,
  limit: '100',
  thresholds: [50, 100],
});

describe('budgets of a batch’s accounts', () => {
  let db: DataSource;
  const tables = new BudgetTables(schema);
  beforeAll(async () => {
    db = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: rollupMigrations });
    await tables.set(db, 't1', budget('b-2', 'acme'), 1n);
    await tables.set(db, 't1', budget('b-1', 'acme'), 2n);
    await tables.set(db, 't1', budget('b-3', 'globex'), 3n);
    await tables.set(db, 't1', budget('b-4', 'initech'), 4n);
    await tables.remove(db, 't1', 'b-4', 5n);
    await tables.set(db, 't2', budget('b-5', 'acme'), 6n);
  });
  afterAll(async () => {
    await db.destroy();
    await dropSchemas(namespace);
  });

  it('reads every asked account’s live budgets in one statement, by account, in budget order', async () => {
    const found = await tables.ofAccounts(db, 't1', ['acme', 'globex', 'initech', 'nobody', 'acme']);
    expect(Object.fromEntries([...found].map(([account, list]) => [account, list.map((b) => b.budgetId)]))).toEqual({
      acme: ['b-1', 'b-2'],
      globex: ['b-3'],
    });
    // Another tenant's budget for an account of the same name is not this tenant's.
    expect([...(await tables.ofAccounts(db, 't2', ['acme', 'globex'])).keys()]).toEqual(['acme']);
    expect((await tables.ofAccounts(db, 't1', [])).size).toBe(0);
  });
});
