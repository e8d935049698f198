import { Controller, Get, Inject, Injectable, SetMetadata, Type } from '@nestjs/common';
import { AUTH_KIND, AuthKind, authKindOf, Public } from './auth';
import { TALLY_APPS } from './tokens';

/** What a route says of itself in the document, beside what its metadata already says (path, method, auth). */
export interface ApiDocOptions {
  summary: string;
  description?: string;
}

const API_DOC = 'tally:api-doc';
/** A route's summary (and description) in the OpenAPI document. */
export const ApiDoc = (options: ApiDocOptions) => SetMetadata(API_DOC, options);

/** An RFC 9457 problem document, as every Tally refusal is (docs/errors.md): one schema for every document. */
export const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};

/** DI token: the controllers this process serves (its apps' and the runtime's), for the document. */
export const SERVED_CONTROLLERS = Symbol('ServedControllers');

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
          doc: metadata(API_DOC, handler) as ApiDocOptions | undefined,
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
 * route cannot be served and missing from it. Request and response schemas are not in it yet (issue 13:
 * they are to come from the schemas that validate the requests); every answer that is not a success is
 * problem+json (docs/errors.md).
 */
export const openApiDocument = (controllers: readonly Type[], apps: readonly string[]) => {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routesOf(controllers)) {
    const parameters = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    (paths[route.path] ??= {})[route.method] = {
      operationId: route.operationId,
      summary: route.doc?.summary ?? `${route.method.toUpperCase()} ${route.path}`,
      description: [route.doc?.description, `**Who may call it:** ${whoMay[route.auth]}`].filter(Boolean).join('\n\n'),
      tags: [tagOf(route.path)],
      ...(route.path.startsWith('/api/v1/') && { 'x-openmeter-compatible': true }),
      'x-tally-auth': route.auth,
      security: route.auth === 'public' ? [] : [{ bearer: [] }],
      ...(parameters.length > 0 && { parameters }),
      responses: {
        '2XX': { description: 'Success' },
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
  @ApiDoc({ summary: 'This OpenAPI document' })
  openApi() {
    return this.document.get();
  }
}
