import { Client, ClientConfig, Pool, PoolClient } from 'pg';

export type PgErrorListener = (error: unknown) => void;

/**
 * Connection settings every Tally connection shares. A connect that hangs (a host gone without a reset)
 * fails after connectTimeoutMs instead of holding a request; keep-alive finds a dead peer within about a
 * minute even on an idle LISTEN or lock connection.
 */
const connectionDefaults = (connectionString: string, connectTimeoutMs = 5_000): ClientConfig => ({
  connectionString,
  connectionTimeoutMillis: connectTimeoutMs,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
});

/** How long `end()` waits for a pool's connections to close before it gives up on the stragglers. */
const closeWaitMs = 5_000;

/**
 * Makes `pool.end()` resolve once every connection has closed. pg's own resolves as soon as it has *asked*
 * its idle clients to end: a Postgres stopped right after (embedded mode stops its server last) terminates
 * connections still saying goodbye, and each reports "terminating connection due to administrator command"
 * as an error. Both forms of `end` (promise and callback, which TypeORM uses) wait.
 */
export const endAfterConnectionsClose = (pool: Pool): Pool => {
  const end = pool.end.bind(pool) as () => Promise<void>;
  const endAndWait = async () => {
    // Every connection open now, idle or checked out, emits `remove` once its socket has closed.
    let open = pool.totalCount;
    const closed = new Promise<void>((resolve) => {
      if (open === 0) return resolve();
      const timer = setTimeout(resolve, closeWaitMs);
      timer.unref();
      pool.on('remove', () => {
        open -= 1;
        if (open > 0) return;
        clearTimeout(timer);
        resolve();
      });
    });
    await end();
    await closed;
  };
  pool.end = ((callback?: (error?: Error) => void) => {
    const ended = endAndWait();
    if (!callback) return ended;
    ended.then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }) as Pool['end'];
  return pool;
};

/**
 * A pg Client that always has an `error` listener. pg's pool listens only on idle clients; whoever checks one out
 * must listen while holding it, and not everyone does: TypeORM's query runners do, but its driver's start-up holds a
 * client without (PostgresDriver.afterConnect), as does anyone calling `pool.connect()` directly. A connection
 * terminated while held that way between two statements (57P01 on a Postgres restart) emitted `error` with nobody
 * listening, and Node ended the process — the likely cause of an intermittent CI failure of e2e/postgres-outage. The
 * error needs no handling here: pg marks the client unqueryable before it emits, its holder's next statement fails
 * with it, and the pool discards an unqueryable client on release. Other listeners (the pool's, a query runner's)
 * still see it.
 */
export class ListeningClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', () => undefined);
  }
}

/** A pool whose idle-client errors are reported, never thrown at the process, and whose end() waits for its connections. */
export const openPool = (options: {
  connectionString: string;
  max?: number;
  connectTimeoutMs?: number;
  onError?: PgErrorListener;
}): Pool => {
  const pool = new Pool({
    ...connectionDefaults(options.connectionString, options.connectTimeoutMs),
    max: options.max ?? 5,
    Client: ListeningClient,
  });
  pool.on('error', (error) => options.onError?.(error));
  return endAfterConnectionsClose(pool);
};

/**
 * Runs work on one checked-out client. pg's pool listens for errors only on idle clients: a connection
 * that dies while checked out but between two queries (mid-transaction) emits `error` with nobody
 * listening, which ends the process. Here a listener is held for the whole checkout, and a client that
 * broke is released with its error so the pool discards it.
 */
export const withClient = async <T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> => {
  const client = await pool.connect();
  let broken: unknown;
  const onError = (error: unknown) => (broken = error);
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    broken ??= isConnectionError(error) ? error : undefined;
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken instanceof Error ? broken : broken === undefined ? undefined : new Error(String(broken)));
  }
};

/** BEGIN … COMMIT on one client; ROLLBACK (best effort) when the work throws. */
export const inTransaction = <T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> =>
  withClient(pool, async (client) => {
    await client.query('begin');
    try {
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback').catch(() => undefined);
      throw error;
    }
  });

/** A lone client (LISTEN, a session lock) with its error listener attached before it connects. */
export const openClient = async (
  connectionString: string,
  onError: PgErrorListener,
  connectTimeoutMs?: number,
): Promise<Client> => {
  const client = new Client(connectionDefaults(connectionString, connectTimeoutMs));
  client.on('error', onError);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
};

/**
 * The connection (not the statement) failed: the server is unreachable, restarting or cut us off. pg
 * reports these with socket codes or SQLSTATE classes 08 (connection exception) and 57P01–57P03
 * (administrator shutdown, crash shutdown, cannot connect now).
 */
export const isConnectionError = (error: unknown): boolean => {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : '';
  return (
    /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code) ||
    code.startsWith('08') ||
    /^57P0[123]$/.test(code) ||
    /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i.test(
      message,
    )
  );
};
