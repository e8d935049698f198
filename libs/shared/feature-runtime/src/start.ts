import { DynamicModule, INestApplication, Module } from '@nestjs/common';
import { ConfigError, loadTallyConfig, TallyConfig } from '@tally/shared/util-config';
import { messageOf, sleep } from '@tally/shared/util-core';
import { isConnectionError } from '@tally/shared/data-access-pg-client';
import { createHttpApp } from './http';
import { createProcessLogger } from './process-logger';
import { surviveLostPostgresConnections } from './connection-error-guard';
import type { Logger } from '@tally/shared/util-telemetry';
import { startTracing } from './tracing';
import { openRuntime, RuntimeOptions, TallyRuntime } from './runtime';
import { RuntimeModule } from './runtime.module';

export interface StartOptions extends RuntimeOptions {
  /** Names of the apps this process runs, for /health and logs. */
  apps: readonly string[];
  modules: readonly DynamicModule[];
  /** Variables this process cannot run without (distributed apps need DATABASE_URL and NATS_URL). */
  required?: readonly (keyof TallyConfig)[];
  env?: Record<string, string | undefined>;
  /** The built console's directory, served at `/` (embedded mode); awaited just before the routes are fixed. */
  consoleRoot?: Promise<string | undefined>;
}

export interface RunningTally {
  app: INestApplication;
  runtime: TallyRuntime;
  url: string;
  close(): Promise<void>;
}

/** Validates configuration, opens ledger and bus, and serves the given app modules over HTTP. */
export const startTally = async (options: StartOptions): Promise<RunningTally> => {
  const config = loadTallyConfig(options.env ?? process.env, options.required ?? []);
  const runtime = await openRuntime(config, options);
  try {
    const appControllers = options.modules.flatMap((m) => m.controllers ?? []);
    @Module({ imports: [RuntimeModule.forRoot(runtime, options.apps, appControllers), ...options.modules] })
    class TallyRoot {}
    const app = await createHttpApp(TallyRoot, runtime, options.consoleRoot);
    await app.listen(config.PORT, config.HOST);
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    let closing: Promise<void> | undefined;
    return {
      app,
      runtime,
      url: `http://${config.HOST === '0.0.0.0' ? '127.0.0.1' : config.HOST}:${port}`,
      close: () => (closing ??= app.close().then(() => runtime.close())),
    };
  } catch (error) {
    await runtime.close().catch(() => undefined);
    throw error;
  }
};

/** Postgres or NATS is not there (yet): worth waiting for, unlike a bad setting or a bug. */
const dependencyAway = (error: unknown): boolean => {
  const e = error as { name?: unknown; message?: unknown; driverError?: unknown } | undefined;
  return (
    isConnectionError(error) ||
    isConnectionError(e?.driverError) ||
    /^(ConnectionError|TimeoutError|ClosedConnectionError|NoRespondersError|RequestError)$/.test(String(e?.name)) ||
    /ECONNREFUSED|CONNECTION_REFUSED|connection refused|timed? ?out|the database system is (starting up|shutting down)/i.test(
      String(e?.message),
    )
  );
};

/**
 * Starts, retrying while a dependency is away: a process started before Postgres or NATS (or during their
 * restart) waits for them instead of exiting. Anything else (configuration, a port in use) ends it.
 */
const startPatiently = async (options: StartOptions): Promise<RunningTally> => {
  for (let attempt = 0; ; attempt++) {
    try {
      return await startTally(options);
    } catch (error) {
      if (error instanceof ConfigError || !dependencyAway(error)) throw error;
      const waitMs = Math.min(10_000, 500 * 2 ** attempt);
      startupLogger(options).warn(
        { reason: messageOf(error), retryInMs: waitMs },
        'could not start: a dependency is away',
      );
      await sleep(waitMs);
    }
  }
};

/** A logger before the runtime exists (its configuration has been validated by then). */
const startupLogger = (options: StartOptions) =>
  createProcessLogger(loadTallyConfig(options.env ?? process.env), options.log);

/** For main.ts files: start, close gracefully on SIGTERM/SIGINT, and turn configuration errors into one clear message. */
export const runMain = async (options: StartOptions, onStarted: (tally: RunningTally) => void): Promise<void> => {
  let log: () => Logger = () => startupLogger(options);
  surviveLostPostgresConnections(() => log());
  try {
    const tracing = startTracing(`tally-${options.apps.join('-')}`, { env: options.env });
    const tally = await startPatiently(options);
    log = () => tally.runtime.log;
    const stop = (signal: string) => {
      tally.runtime.log.info({ signal }, 'draining and stopping');
      void tally
        .close()
        // Spans still buffered get 5 s to reach the collector: a collector that is down never holds up the exit.
        .then(() => Promise.race([tracing?.shutdown(), sleep(5_000)]))
        .then(
          () => process.exit(0),
          (error) => {
            tally.runtime.log.error({ err: error }, 'could not stop cleanly');
            process.exit(1);
          },
        );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    onStarted(tally);
  } catch (error) {
    // A configuration error is the operator's to fix: one plain line, whatever the log format.
    if (error instanceof ConfigError) console.error(`[tally] ${error.message}`);
    else startupLogger(options).fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
};
