import { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyBaseLogger, LogController } from 'fastify';
import { installHttpTelemetry, nestLogger, requestIdOf } from './http-telemetry';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import { OpenApiDocument } from './openapi';
import { serveConsole } from './console-site';
import { docsPrefix } from './request-gate';
import { parseExactJson } from './exact-json';
import { ProblemJsonFilter } from './problem';
import { Metrics } from './metrics';
import { installRequestGate, ProducerKeys } from './request-gate';
import { installOversizedBodyAnswer } from './oversized-body';
import { TallyRuntime } from './runtime';
import { messageOf } from '@tally/shared/util-core';

/** Largest request body accepted (bytes). */
export const maxBodyBytes = 5 * 1024 * 1024; // = usageLimits.bodyBytes of the telemetry contract
export { discardBodyBytes } from './oversized-body';

/** CloudEvents media types are JSON too. */
const jsonMediaTypes = ['application/json', 'application/cloudevents+json', 'application/cloudevents-batch+json'];
/** Intake routes parse numbers exactly (see parseExactJson); the rest use JSON.parse. */
const exactRoutes = /^\/(api\/)?v1\/events(\/|\?|$)/;

/** The OpenMeter-compatible routes. */
const openMeterRoutes = /^\/api\/v1\//;

const badJson = (error: unknown) =>
  Object.assign(new Error(`the body is not valid JSON: ${messageOf(error)}`), {
    statusCode: 400,
    code: 'TALLY_INVALID_JSON',
  });

/**
 * `/docs`: Swagger UI over this process's OpenAPI document (its assets ship in @fastify/swagger-ui: no CDN).
 * Public, like `/openapi.json`: the request gate lets `/docs` through (docsPrefix).
 */
const serveApiReference = async (app: NestFastifyApplication) => {
  const document = app.get(OpenApiDocument).get();
  await app.register(fastifySwagger, { mode: 'static', specification: { document: document as never } });
  await app.register(fastifySwaggerUi, {
    routePrefix: docsPrefix,
    uiConfig: { docExpansion: 'list', deepLinking: true, persistAuthorization: true, tryItOutEnabled: true },
  });
};

/**
 * Builds the HTTP application (Fastify) for a root module, with problem+json errors everywhere; with
 * `consoleRoot`, the built console's static files at `/` too (embedded mode: see console-site.ts).
 */
export const createHttpApp = async (
  rootModule: Type<unknown>,
  runtime: TallyRuntime,
  consoleRoot?: Promise<string | undefined>,
): Promise<INestApplication> => {
  // Fastify logs through the process's pino logger; its per-request lines are ours (debug, in http-telemetry).
  const adapter = new FastifyAdapter({
    bodyLimit: maxBodyBytes,
    loggerInstance: runtime.log as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    genReqId: requestIdOf,
  });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, {
    logger: nestLogger(runtime.log),
    abortOnError: false,
    bodyParser: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  installHttpTelemetry(fastify, runtime.log);
  app.get(Metrics).instrument(fastify);
  installRequestGate(fastify, runtime, () => app.get(ProducerKeys), maxBodyBytes);
  // After the gate: a body over the limit is read and dropped (or not asked for) only once the gate let it in.
  installOversizedBodyAnswer(fastify);
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(jsonMediaTypes, { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, exactRoutes.test(request.url) ? parseExactJson(body as string) : JSON.parse(body as string));
    } catch (error) {
      done(badJson(error), undefined);
    }
  });
  // OpenMeter answers `application/json` with no charset, and its SDKs compare the header exactly (a problem
  // body is read only as exactly `application/problem+json`). JSON has no charset parameter (RFC 8259).
  fastify.addHook('onSend', async (request, reply) => {
    const type = reply.getHeader('content-type');
    if (type === 'application/problem+json; charset=utf-8')
      void reply.header('content-type', 'application/problem+json');
    else if (openMeterRoutes.test(request.url) && type === 'application/json; charset=utf-8')
      void reply.header('content-type', 'application/json');
  });
  // Only JSON is spoken: anything else is 415, not a string to misread as an event.
  fastify.removeContentTypeParser('text/plain');
  app.useGlobalFilters(new ProblemJsonFilter(runtime.log));
  await serveApiReference(app);
  const site = await consoleRoot;
  if (site && (await serveConsole(fastify, site))) runtime.log.info({ root: site }, 'serving the console at /');
  return app;
};
