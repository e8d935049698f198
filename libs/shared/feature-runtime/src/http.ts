import { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { ProblemJsonFilter } from './problem';
import { TallyRuntime } from './runtime';

/** Largest request body accepted (bytes). */
export const maxBodyBytes = 5 * 1024 * 1024;

/** CloudEvents media types are JSON; Fastify only knows application/json out of the box. */
const jsonMediaTypes = ['application/cloudevents+json', 'application/cloudevents-batch+json'];

/** Builds the HTTP application (Fastify) for a root module, with problem+json errors everywhere. */
export const createHttpApp = async (rootModule: Type<unknown>, runtime: TallyRuntime): Promise<INestApplication> => {
  const adapter = new FastifyAdapter({ bodyLimit: maxBodyBytes });
  const app = await NestFactory.create<NestFastifyApplication>(rootModule, adapter, { logger: ['error', 'warn'], abortOnError: false });
  const fastify = app.getHttpAdapter().getInstance();
  const jsonParser = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser(jsonMediaTypes, { parseAs: 'string' }, jsonParser);
  // Only JSON is spoken: anything else is 415, not a string to misread as an event.
  fastify.removeContentTypeParser('text/plain');
  app.useGlobalFilters(new ProblemJsonFilter(runtime.log));
  return app;
};
