import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { openAppDataSource } from './data-source';

describe('an app DataSource', () => {
  const schema = uniqueName('ds');
  const lines: string[] = [];
  let db: DataSource;
  beforeAll(async () => {
    db = await openAppDataSource({
      connectionString: testDatabaseUrl(),
      schema,
      migrations: [],
      log: (line) => lines.push(line),
    });
  });
  afterAll(async () => {
    await db.destroy();
    await dropSchemas(schema);
  });

  it('reports a failed query by its statement and error, never its parameters (payloads stay out of logs)', async () => {
    await expect(
      db.query(`insert into "${schema}".nowhere (data) values ($1)`, [
        '{"gbSeconds":"42","customer":"payload-secret-xyz"}',
      ]),
    ).rejects.toThrow();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[postgres\] query failed \(insert into .*nowhere/);
    expect(lines[0]).toContain('does not exist');
    expect(lines.join('\n')).not.toContain('payload-secret-xyz');
  });
});
