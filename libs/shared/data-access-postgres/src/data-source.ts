import { Logger as TallyLogger, silentLogger } from '@tally/shared/util-telemetry';
import { Client, Pool } from 'pg';
import { endAfterConnectionsClose, ListeningClient, openClient } from '@tally/shared/data-access-pg-client';
import { DataSource, EntityManager, EntitySchema, Logger, MigrationInterface } from 'typeorm';

export interface AppDataSourceOptions {
  connectionString: string;
  /** The app's own schema: one per app, nobody else's tables. */
  schema: string;
  entities?: (EntitySchema | (new () => unknown))[];
  migrations: (new () => MigrationInterface)[];
  poolSize?: number;
  /** Where failed queries are reported (without their parameters). */
  log?: TallyLogger;
}

/**
 * TypeORM's logger for failed queries: the statement's first words and the error, never the parameters —
 * they hold usage payloads, account ids and key hashes, which are data, not diagnostics.
 */
export const queryErrorLogger = (log: TallyLogger): Logger => ({
  logQuery: () => undefined,
  logQuerySlow: () => undefined,
  logSchemaBuild: () => undefined,
  logMigration: () => undefined,
  log: (level, message) => level === 'warn' && log.warn(`postgres: ${String(message)}`),
  logQueryError: (error, query) =>
    log.warn(
      {
        statement: `${query.replace(/\s+/g, ' ').trim().slice(0, 80)}…`,
        reason: typeof error === 'string' ? error : error.message,
      },
      'query failed',
    ),
});

/**
 * A TypeORM DataSource bound to one app's schema, with that schema's migrations applied at start.
 * Schema creation and migrations run under an advisory lock so replicas starting together agree.
 */
export const openAppDataSource = async (options: AppDataSourceOptions): Promise<DataSource> => {
  await withAdvisoryLock(options.connectionString, `${options.schema}.migrate`, async (client) => {
    await client.query(`create schema if not exists "${options.schema}"`);
  });
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.connectionString,
    schema: options.schema,
    entities: options.entities ?? [],
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    // ListeningClient: a connection lost while anyone holds it between statements must not end the process (see there).
    extra: { max: options.poolSize ?? 5, connectionTimeoutMillis: 5_000, keepAlive: true, Client: ListeningClient },
    logging: ['error', 'warn'],
    logger: queryErrorLogger(options.log ?? silentLogger),
  });
  await dataSource.initialize();
  // TypeORM's pool, like any: destroy() waits until its connections have closed (see endAfterConnectionsClose).
  endAfterConnectionsClose((dataSource.driver as unknown as { master: Pool }).master);
  await withAdvisoryLock(options.connectionString, `${options.schema}.migrate`, () =>
    dataSource.runMigrations().then(() => undefined),
  );
  return dataSource;
};

export const withAdvisoryLock = async <T>(
  connectionString: string,
  key: string,
  work: (client: Client) => Promise<T>,
): Promise<T> => {
  // A connection lost mid-way fails the work (start-up retries it); it must not end the process.
  const client = await openClient(connectionString, () => undefined);
  try {
    await client.query('select pg_advisory_lock(hashtext($1))', [key]);
    return await work(client);
  } finally {
    await client.end();
  }
};

/** The schema a migration runs in (migrations are written once, installations choose schema names). */
export const schemaOf = (queryRunner: { connection: { options: unknown } }): string => {
  const schema = (queryRunner.connection.options as { schema?: string }).schema;
  if (!schema) throw new Error('migration needs a DataSource with a schema');
  return schema;
};

/**
 * Rows of an UPDATE/DELETE … RETURNING run through TypeORM's `query()`, which answers those with
 * `[rows, rowCount]` (and with plain rows for SELECT and INSERT).
 */
export const returnedRows = <T>(result: unknown): T[] =>
  Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number'
    ? (result[0] as T[])
    : (result as T[]);

/**
 * Read-only work in one snapshot (REPEATABLE READ), begun with one statement: TypeORM's
 * `transaction('REPEATABLE READ')` sends START TRANSACTION and SET TRANSACTION apart, a round trip more on
 * every read that needs a snapshot (a billable-usage request is about ten statements in all).
 */
export const inReadOnlySnapshot = async <T>(db: DataSource, work: (tx: EntityManager) => Promise<T>): Promise<T> => {
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('start transaction isolation level repeatable read, read only');
    const result = await work(runner.manager);
    await runner.query('commit');
    return result;
  } catch (error) {
    await runner.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    await runner.release();
  }
};
