import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Client } from 'pg';

/**
 * Integration tests use the machine's real Postgres. Each suite takes a fresh name for its schemas
 * (and NATS streams), so suites run side by side and nothing needs truncating.
 */
export const testDatabaseUrl = (): string => process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const testNatsUrl = (): string => process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(5).toString('hex')}`;

/** Drops every schema whose name starts with the given namespace (test clean-up). */
export const dropSchemas = async (namespace: string, connectionString = testDatabaseUrl()): Promise<void> => {
  const client = new Client({ connectionString });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      'select nspname from pg_namespace where starts_with(nspname, $1)',
      [namespace],
    );
    for (const { nspname } of rows) await client.query(`drop schema if exists "${nspname}" cascade`);
  } finally {
    await client.end();
  }
};

/** Polls until the probe returns a value that passes, or fails with the last value seen. */
export const eventually = async <T>(
  probe: () => Promise<T>,
  pass: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!pass(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
    last = await probe();
  }
  return last;
};

/** Deletes the JetStream streams of a namespace (test and benchmark clean-up). */
export const deleteNatsStreams = async (namespace: string, servers = testNatsUrl()): Promise<void> => {
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  for await (const stream of jsm.streams.list()) {
    if (stream.config.name.startsWith(`${namespace.toUpperCase()}_`)) await jsm.streams.delete(stream.config.name);
  }
  await nc.close();
};

/**
 * The routes a Nest controller serves, as `method /path/{param}` — to hold an OpenAPI document to the code.
 * Reads Nest's route metadata by its keys ('path', 'method'), so this library needs no Nest import.
 */
export const servedRoutes = (controller: new (...args: never[]) => unknown): string[] => {
  // reflect-metadata adds getMetadata to Reflect at run time; its typings are Nest's, not this library's
  // (a project that checks this file without them sees a Reflect with nothing in common: hence the cast).
  const reflect = Reflect as unknown as { getMetadata?(key: string, target: object): unknown };
  const metadata = (key: string, target: object): unknown => reflect.getMetadata?.(key, target);
  const methods = ['get', 'post', 'put', 'delete', 'patch', 'all', 'options', 'head', 'search'];
  const base = String(metadata('path', controller) ?? '');
  return Object.getOwnPropertyNames(controller.prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => (controller.prototype as Record<string, unknown>)[name])
    .filter((handler): handler is object => typeof handler === 'function' && metadata('path', handler) !== undefined)
    .map((handler) => {
      const path = `/${[base, String(metadata('path', handler))].filter((p) => p && p !== '/').join('/')}`.replace(
        /:(\w+)/g,
        '{$1}',
      );
      return `${methods[Number(metadata('method', handler))]} ${path}`;
    });
};

export * from './ports';
export * from './scratch-postgres';
export * from './scratch-nats';
export * from './recording-logger';
export * from './production-node-options';
