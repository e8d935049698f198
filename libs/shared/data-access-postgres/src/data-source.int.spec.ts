import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource } from 'typeorm';
import { dropSchemas, recordingLogger, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { openAppDataSource } from './data-source';

describe('an app DataSource', () => {
  const schema = uniqueName('ds');
  const log = recordingLogger();
  let db: DataSource;
  beforeAll(async () => {
    db = await openAppDataSource({
      connectionString: testDatabaseUrl(),
      schema,
      migrations: [],
      log,
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
    expect(log.entries).toHaveLength(1);
    expect(log.entries[0]).toMatchObject({ level: 'warn', message: 'query failed' });
    expect(log.entries[0].fields.statement).toMatch(/^insert into .*nowhere/);
    expect(log.entries[0].fields.reason).toContain('does not exist');
    expect(JSON.stringify(log.entries)).not.toContain('payload-secret-xyz');
  });
});
