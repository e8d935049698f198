import { Controller, Get, Inject, Injectable, SetMetadata, Type } from '@nestjs/common';
import * as z from 'zod';
import { AUTH_KIND, AuthKind, authKindOf, Public } from './auth';
import { OpenApiDocumentAnswer } from './runtime.schemas';
import { TALLY_APPS } from './tokens';

/** One answer of a route that is not a refusal (refusals are problem+json, see `problemSchema`). */
export interface ApiAnswer {
  description: string;
  /** The body's schema; none for an empty answer (204). */
  schema?: z.ZodType;
  /** `application/json` unless said. */
  contentType?: string;
  /** The same answer in other media types, by the request's Accept (e.g. `text/csv`). */
  alternatives?: Record<string, z.ZodType>;
}

/**
 * What a route says of itself in the document, beside what its metadata already says (path, method, auth):
 * its words, and the schemas of its path parameters, query, body and answers. The request schemas are the
 * ones RequestSchemaInterceptor validates the request with before the handler runs.
 */
export interface ApiDocOptions {
  summary: string;
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /**
   * Why the handler validates the body itself instead of the interceptor (intake: numbers must stay exact
   * and a 1,000-event batch is checked in one pass); the schema then documents the body, and a test holds the
   * handler's validator to the schema's examples.
   */
  bodyCheckedBy?: string;
  /** The answers by status code. */
  responses?: Record<number, ApiAnswer>;
}

const API_DOC = 'tally:api-doc';
/** A route's words and schemas in the OpenAPI document; the request schemas also validate its requests. */
export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);
/** The route's `@ApiDoc`, if it has one. */
export const apiDocOf = (handler: object): ApiDocOptions | undefined => metadata(API_DOC, handler) as ApiDocOptions;

/** An RFC 9457 problem document, as every Tally refusal is (docs/errors.md): one schema for every document. */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'instance'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    instance: {
      type: 'string',
      format: 'uri',
      description: 'this occurrence: `urn:tally:request:<request id>`, the X-Request-Id on its log lines',
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { field: { type: 'string' }, message: { type: 'string' }, index: { type: 'integer' } },
      },
    },
  },
};

/** DI token: the controllers this process serves (its apps' and the runtime's), for the document. */
export const SERVED_CONTROLLERS = Symbol('ServedControllers');

type JsonSchema = Record<string, unknown>;

/**
 * A zod schema as the JSON Schema the document holds. Named schemas (`.meta({ id })`) go to
 * `components.schemas` once and are referred to from everywhere they are used.
 */
const jsonSchemaOf = (schema: z.ZodType, components: Record<string, JsonSchema>): JsonSchema => {
  const {
    $schema: _,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
  const toComponents = (value: JsonSchema): JsonSchema =>
    JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
  for (const [id, definition] of Object.entries($defs ?? {})) {
    const moved = toComponents(definition);
    if (components[id] && JSON.stringify(components[id]) !== JSON.stringify(moved))
      throw new Error(`two different schemas are named ${id}`);
    components[id] = moved;
  }
  return toComponents(rest);
};

/** The parameters of one place (`path`, `query`) from its object schema. */
const parametersOf = (
  schema: z.ZodObject | undefined,
  place: 'path' | 'query',
  names: readonly string[],
  components: Record<string, JsonSchema>,
) => {
  const json = schema
    ? (jsonSchemaOf(schema, components) as { properties?: Record<string, JsonSchema>; required?: string[] })
    : {};
  const properties = json.properties ?? Object.fromEntries(names.map((name) => [name, { type: 'string' }]));
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: place,
      required: place === 'path' || (json.required ?? []).includes(name),
      ...(typeof description === 'string' && { description }),
      schema: propertySchema,
    };
  });
};

const methods = ['get', 'post', 'put', 'delete', 'patch', 'all', 'options', 'head', 'search'];
const reflect: { getMetadata?(key: string, target: object): unknown } = Reflect;
const metadata = (key: string, target: object): unknown => reflect.getMetadata?.(key, target);

/** Every route of these controllers: method, OpenAPI path, auth kind and the route's own words. */
export const routesOf = (controllers: readonly Type[]) =>
  controllers.flatMap((controller) => {
    const base = String(metadata('path', controller) ?? '');
    return Object.getOwnPropertyNames(controller.prototype)
      .filter((name) => name !== 'constructor')
      .map((name) => ({ name, handler: (controller.prototype as Record<string, unknown>)[name] }))
      .filter(
        (r): r is { name: string; handler: object } =>
          typeof r.handler === 'function' && metadata('path', r.handler) !== undefined,
      )
      .map(({ name, handler }) => {
        const method = methods[Number(metadata('method', handler))];
        const path = `/${[base, String(metadata('path', handler))].filter((p) => p && p !== '/').join('/')}`.replace(
          /:(\w+)/g,
          '{$1}',
        );
        const marked = (metadata(AUTH_KIND, handler) ?? metadata(AUTH_KIND, controller)) as AuthKind | undefined;
        return {
          method,
          path,
          operationId: `${controller.name.replace(/Controller$/, '')}_${name}`,
          auth: authKindOf(marked, method.toUpperCase()),
          doc: apiDocOf(handler),
        };
      });
  });

const whoMay: Record<AuthKind, string> = {
  public: 'Anyone: no credential.',
  operator: "The operator's token (TALLY_ADMIN_TOKEN).",
  admin: "A tenant's admin credential, or the operator's.",
  read: "A tenant's admin or billing-viewer credential, or the operator's.",
  producer: 'A producer API key (`tally_…`).',
  'producer-or-admin': 'A producer API key, or an admin credential.',
};

/** The tag of a route: its resource (`/v1/accounts/{id}/usage` → accounts), OpenMeter's routes apart. */
const tagOf = (path: string) => {
  const segments = path.split('/').filter((s) => s && !s.startsWith('{'));
  if (segments[0] === 'api') return `OpenMeter-compatible: ${segments[2] ?? 'api'}`;
  if (segments[0] !== 'v1') return 'operations';
  return segments[1] === 'admin' ? `admin: ${segments[2]}` : segments[1];
};

/**
 * The OpenAPI 3.1 document of the routes this process serves, read from the routes' own metadata — so a
 * route cannot be served and missing from it — with the schemas that validate their requests and the schemas
 * of their answers; every answer that is not a success is problem+json (docs/errors.md).
 */
export const openApiDocument = (controllers: readonly Type[], apps: readonly string[]) => {
  const paths: Record<string, Record<string, unknown>> = {};
  const schemas: Record<string, JsonSchema> = {};
  for (const route of routesOf(controllers)) {
    const doc = route.doc;
    const names = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name);
    const parameters = [
      ...parametersOf(doc?.params, 'path', names, schemas),
      ...parametersOf(doc?.query, 'query', [], schemas),
    ];
    const answers = Object.entries(doc?.responses ?? {}).map(([status, answer]) => [
      status,
      {
        description: answer.description,
        ...(answer.schema && {
          content: Object.fromEntries(
            Object.entries({ [answer.contentType ?? 'application/json']: answer.schema, ...answer.alternatives }).map(
              ([type, schema]) => [type, { schema: jsonSchemaOf(schema, schemas) }],
            ),
          ),
        }),
      },
    ]);
    (paths[route.path] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.doc?.summary ?? `${route.method.toUpperCase()} ${route.path}`,
      description: [route.doc?.description, `**Who may call it:** ${whoMay[route.auth]}`].filter(Boolean).join('\n\n'),
      tags: [tagOf(route.path)],
      ...(route.path.startsWith('/api/v1/') && { 'x-openmeter-compatible': true }),
      'x-tally-auth': route.auth,
      security: route.auth === 'public' ? [] : [{ bearer: [] }],
      ...(parameters.length > 0 && { parameters }),
      ...(doc?.body && {
        requestBody: {
          // Optional when the schema takes no body at all (`.optional()`), as a few POSTs do.
          required: !doc.body.safeParse(undefined).success,
          content: { 'application/json': { schema: jsonSchemaOf(doc.body, schemas) } },
        },
      }),
      responses: {
        ...(answers.length > 0 ? Object.fromEntries(answers) : { '2XX': { description: 'Success' } }),
        default: { $ref: '#/components/responses/Problem' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `Tally: ${apps.join(', ')}`,
      version: '0.1.0',
      description:
        'Event-sourced usage metering and billing. Routes marked OpenMeter-compatible follow OpenMeter’s API. ' +
        'Credentials go as `Authorization: Bearer …`; the operator acts for another tenant with `Tally-Tenant`.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas,
      responses: {
        Problem: {
          description: 'A refusal or a failure, as RFC 9457 problem+json',
          content: {
            'application/problem+json': {
              schema: problemSchema,
            },
          },
        },
      },
    },
    paths,
  };
};

/** The document, built once from the served controllers. */
@Injectable()
export class OpenApiDocument {
  private built?: ReturnType<typeof openApiDocument>;

  constructor(
    @Inject(SERVED_CONTROLLERS) private readonly controllers: readonly Type[],
    @Inject(TALLY_APPS) private readonly apps: readonly string[],
  ) {}

  get(): ReturnType<typeof openApiDocument> {
    return (this.built ??= openApiDocument(this.controllers, this.apps));
  }
}

/** `GET /openapi.json`: the document of this process's routes (embedded mode: all four apps'). */
@Controller()
export class OpenApiController {
  constructor(@Inject(OpenApiDocument) private readonly document: OpenApiDocument) {}

  @Get('openapi.json')
  @Public()
  @ApiDoc({
    summary: 'This OpenAPI document',
    responses: { 200: { description: 'OpenAPI 3.1', schema: OpenApiDocumentAnswer } },
  })
  openApi() {
    return this.document.get();
  }
}
