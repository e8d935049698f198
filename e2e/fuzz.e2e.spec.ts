import fc from 'fast-check';
import { DynamicModule } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunningTally, RuntimeModule } from '@tally/shared/feature-runtime';
import { dropSchemas, servedRoutes, uniqueName } from '@tally/shared/testing';
import { adminToken, AppName, appModules, createProducerKey, deleteStreams, startApp } from './support';

/** Every route each app serves, as `method /path/{param}`, read from its controllers. */
const routesOf = (module: DynamicModule): string[] =>
  (module.controllers ?? []).flatMap((c) => servedRoutes(c as new (...args: never[]) => unknown));
const runtimeRoutes = routesOf(RuntimeModule.forRoot({} as never, []));

/** Text a hostile client would try: unicode, path tricks, prototype names, huge and empty values. */
const nasty = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    '..',
    '../../etc/passwd',
    '%',
    '%00',
    '\u0000',
    ' ',
    '',
    'null',
    '-1',
    '1e400',
    "' or 1=1 --",
    '{}',
    '[]',
  ),
  fc.string({ minLength: 2_000, maxLength: 5_000 }),
  fc.integer().map(String),
);
const query = fc.dictionary(
  fc.oneof(
    nasty,
    fc.constantFrom(
      'groupBy',
      'filterGroupBy[__proto__]',
      'from',
      'to',
      'windowSize',
      'accountId',
      'limit',
      'after',
      'period',
      'source',
      'id',
      'consumer',
    ),
  ),
  fc.oneof(nasty, fc.array(nasty, { maxLength: 3 })),
  { maxKeys: 5 },
);
const body = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(nasty, fc.jsonValue(), { maxKeys: 6 }),
  fc.array(fc.dictionary(nasty, fc.jsonValue(), { maxKeys: 6 }), { maxLength: 5 }),
  fc.constant(undefined),
);

/**
 * A fuzz pass over every route of the four apps (and the shared admin routes): random path parameters,
 * query strings and JSON bodies, with the admin token (and a producer key on intake routes). No answer
 * may be a 5xx, and every app must still answer afterwards.
 */
describe('fuzz: every route, hostile input', () => {
  const namespace = uniqueName('fuzz');
  const apps = {} as Record<AppName, RunningTally>;
  let producerKey: string;
  const fivexx: string[] = [];

  beforeAll(async () => {
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const)
      apps[app] = await startApp(app, namespace, {
        TALLY_RATE_LIMIT_PER_SECOND: '0',
        TALLY_BILLING_INTERVAL_MS: '3600000',
      });
    producerKey = await createProducerKey(apps.ingestion.url);
  });
  afterAll(async () => {
    for (const app of Object.values(apps)) await app?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it.each(Object.keys(appModules) as AppName[])(
    '%s: no route answers 5xx, whatever it is sent',
    async (app) => {
      const routes = [...routesOf(appModules[app]()), ...runtimeRoutes];
      expect(routes.length).toBeGreaterThan(3);
      for (const route of routes) {
        const [method, template] = route.split(' ');
        const producerRoute = template.startsWith('/v1/events') || template.startsWith('/api/v1/events');
        await fc.assert(
          fc.asyncProperty(
            fc.array(nasty, { minLength: 3, maxLength: 3 }),
            query,
            body,
            fc.boolean(),
            async (params, q, payload, asProducer) => {
              let n = 0;
              const path = template.replace(/\{\w+\}/g, () => encodeURIComponent(params[n++] ?? 'x'));
              const search = new URLSearchParams();
              for (const [key, value] of Object.entries(q)) for (const v of [value].flat()) search.append(key, v);
              const response = await fetch(`${apps[app].url}${path}?${search}`, {
                method: method.toUpperCase(),
                headers: {
                  'content-type': 'application/json',
                  authorization: `Bearer ${producerRoute && asProducer ? producerKey : adminToken}`,
                },
                body: method === 'get' || payload === undefined ? undefined : JSON.stringify(payload),
              });
              const text = await response.text();
              if (response.status >= 500)
                fivexx.push(`${route} ${path}?${search} → ${response.status} ${text.slice(0, 200)}`);
              return response.status < 500;
            },
          ),
          { numRuns: Number(process.env.TALLY_FUZZ_RUNS ?? 40), endOnFailure: true },
        );
      }
      expect(fivexx).toEqual([]);
      expect((await fetch(`${apps[app].url}/health`)).status).toBe(200);
    },
    300_000,
  );
});
