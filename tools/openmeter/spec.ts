import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv, { ValidateFunction } from 'ajv/dist/ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

/**
 * OpenMeter's published OpenAPI 3.0 document, read where CI keeps it (beside the checkout, never copied into
 * the repository), with what a conformance test needs: an operation's method, path, parameters, request-body
 * schemas and examples, and a validator for an answer (status, media type, body) against what the operation
 * declares. Schemas are validated with ajv (draft-07, OpenAPI's `nullable` honoured); `$ref`s resolve inside
 * the one document, added to ajv as a whole, so components are compiled once and shared.
 */

export const repoRoot = resolve(__dirname, '..', '..');
export const openMeterSpecPath = resolve(repoRoot, '../shared/openmeter/openapi.yaml');

export type Schema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  description?: string;
  style?: string;
  explode?: boolean;
  schema?: Schema;
  content?: Record<string, { schema?: Schema }>;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}

interface MediaType {
  schema?: Schema;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}

interface Response {
  description?: string;
  content?: Record<string, MediaType>;
}

/** Where a node is in the document, as JSON pointer segments (after any `$ref`). */
type Located<T> = T & { at: string[] };

export interface Operation {
  operationId: string;
  /** Upper case: GET, POST, … */
  method: string;
  /** The path template, `/api/v1/meters/{meterIdOrSlug}`. */
  path: string;
  /** Path-level and operation-level parameters, `$ref`s resolved. */
  parameters: Parameter[];
  requestBody?: Located<{ required: boolean; content: Record<string, MediaType> }>;
  /** By status (`200`, `4XX`, `default`). */
  responses: Record<string, Located<Response>>;
}

/** An answer as it came over the wire: the body parsed when JSON, the text otherwise, undefined when empty. */
export interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

type Document = {
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema>; parameters: Record<string, Parameter> };
};

const methods = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];

/** OpenAPI 3.0 formats JSON Schema has no validator for: sizes and hints, taken as they are. */
const hintFormats = [
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float',
  'double',
  'byte',
  'binary',
  'password',
  'json',
  'application/json',
  'ISO8601',
];

const pointer = (segments: string[]) =>
  `openmeter#/${segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;

export class OpenMeterSpec {
  private readonly ajv = new Ajv({ strict: false, allErrors: true });
  private readonly operations = new Map<string, Operation>();
  private readonly validators = new Map<string, ValidateFunction>();

  private constructor(readonly document: Document) {
    addFormats(this.ajv);
    for (const format of hintFormats) this.ajv.addFormat(format, true);
    const nullable = this.ajv.compile({ type: 'string', nullable: true });
    if (!nullable(null) || !nullable('text') || nullable(1))
      throw new Error('ajv does not honour OpenAPI 3.0 `nullable`: the answers could not be judged');
    this.ajv.addSchema(admitNull(structuredClone(document)) as unknown as Schema, 'openmeter');
    for (const [path, item] of Object.entries(document.paths)) {
      const shared = ((item.parameters as Parameter[] | undefined) ?? []).map((p) => this.resolve<Parameter>(p));
      for (const method of methods) {
        const raw = item[method] as Record<string, unknown> | undefined;
        if (!raw?.operationId) continue;
        const own = ((raw.parameters as Parameter[] | undefined) ?? []).map((p) => this.resolve<Parameter>(p));
        const body = raw.requestBody
          ? this.locate<{ required?: boolean; content: Record<string, MediaType> }>(raw.requestBody, [
              'paths',
              path,
              method,
              'requestBody',
            ])
          : undefined;
        this.operations.set(raw.operationId as string, {
          operationId: raw.operationId as string,
          method: method.toUpperCase(),
          path,
          parameters: [...shared.filter((p) => !own.some((o) => o.name === p.name && o.in === p.in)), ...own],
          requestBody: body ? { required: body.required ?? false, content: body.content, at: body.at } : undefined,
          responses: Object.fromEntries(
            Object.entries(raw.responses as Record<string, unknown>).map(([status, r]) => [
              status,
              this.locate<Response>(r, ['paths', path, method, 'responses', status]),
            ]),
          ),
        });
      }
    }
  }

  /** Reads the document; fails at once, saying where it looked, when it is not there. */
  static load(path = openMeterSpecPath): OpenMeterSpec {
    if (!existsSync(path))
      throw new Error(
        `OpenMeter's OpenAPI document is not at ${path}: it is read from ../shared/openmeter/openapi.yaml, ` +
          `a folder beside the repository's checkout (as CI has it), never from inside the repository`,
      );
    return new OpenMeterSpec(parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 }) as Document);
  }

  /** The operation with this operationId. */
  operation(operationId: string): Operation {
    const found = this.operations.get(operationId);
    if (!found) throw new Error(`OpenMeter's document has no operation ${operationId}`);
    return found;
  }

  /** A node with its `$ref` (into this document) followed, as often as needed. */
  resolve<T>(node: unknown): T {
    return this.follow(node, []).node as T;
  }

  /** A node with its `$ref`s followed, with where it is (`at`: pointer segments, those given when no `$ref`). */
  private locate<T extends object>(node: unknown, at: string[]): Located<T> {
    const found = this.follow(node, at);
    return { ...(found.node as T), at: found.at };
  }

  private follow(node: unknown, at: string[]): { node: unknown; at: string[] } {
    let current = node as { $ref?: string } | undefined;
    let where = at;
    for (let hops = 0; current && typeof current.$ref === 'string'; hops++) {
      const ref = current.$ref;
      if (hops > 32 || !ref.startsWith('#/')) throw new Error(`cannot resolve ${ref}`);
      where = ref
        .slice(2)
        .split('/')
        .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
      current = where.reduce<unknown>(
        (inside, key) => (inside as Record<string, unknown> | undefined)?.[key],
        this.document,
      ) as { $ref?: string } | undefined;
      if (current === undefined) throw new Error(`${ref} is not in the document`);
    }
    return { node: current, at: where };
  }

  /** A schema of `components/schemas`, `$ref` followed. */
  schema(name: string): Schema {
    const found = this.document.components.schemas[name];
    if (!found) throw new Error(`OpenMeter's document has no schema ${name}`);
    return this.resolve<Schema>(found);
  }

  /** A parameter of an operation, `$ref` followed. */
  parameter(operationId: string, name: string): Parameter {
    const found = this.operation(operationId).parameters.find((p) => p.name === name);
    if (!found) throw new Error(`${operationId} has no parameter ${name}`);
    return found;
  }

  /** The example values the document gives a parameter (its own, or its schema's). */
  parameterExamples(operationId: string, name: string): unknown[] {
    const p = this.parameter(operationId, name);
    return [
      ...(p.example !== undefined ? [p.example] : []),
      ...Object.values(p.examples ?? {}).map((e) => this.resolve<{ value?: unknown }>(e).value),
      ...(p.schema ? this.examplesOf(p.schema) : []),
    ].filter((e) => e !== undefined);
  }

  /**
   * The examples of an operation's request body in one media type (the first declared by default): the media
   * type's own, then its schema's (`example`, or one made of its properties' examples when it has none).
   */
  requestExamples(operationId: string, mediaType?: string): unknown[] {
    const op = this.operation(operationId);
    if (!op.requestBody) throw new Error(`${operationId} takes no body`);
    const type = mediaType ?? Object.keys(op.requestBody.content)[0];
    const media = op.requestBody.content[type];
    if (!media) throw new Error(`${operationId} takes no ${type} body`);
    return [
      ...(media.example !== undefined ? [media.example] : []),
      ...Object.values(media.examples ?? {}).map((e) => this.resolve<{ value?: unknown }>(e).value),
      ...(media.schema ? this.examplesOf(media.schema) : []),
    ].filter((e) => e !== undefined);
  }

  /** A schema's example; for an object schema without one, an object of its properties' examples. */
  examplesOf(node: Schema): unknown[] {
    const schema = this.resolve<Schema>(node);
    if (schema.example !== undefined) return [schema.example];
    const allOf = (schema.allOf as Schema[] | undefined) ?? [];
    if (allOf.length === 1) return this.examplesOf(allOf[0]);
    const properties = schema.properties as Record<string, Schema> | undefined;
    if (!properties) return [];
    const made = Object.fromEntries(
      Object.entries(properties)
        .map(([key, property]) => [key, this.examplesOf(property)[0]] as const)
        .filter(([, example]) => example !== undefined),
    );
    return Object.keys(made).length > 0 ? [made] : [];
  }

  /**
   * The URL of a request: the path template filled in, the query written the way each parameter's style says
   * (form, exploded by default: `?subject=a&subject=b`; deepObject: `?filterGroupBy[model]=x`; a parameter
   * with `content`: its JSON). Dates are written in RFC 3339.
   */
  url(
    baseUrl: string,
    operationId: string,
    params: { path?: Record<string, string>; query?: Record<string, unknown> } = {},
  ): string {
    const op = this.operation(operationId);
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params.path?.[name];
      if (value === undefined) throw new Error(`${operationId} needs the path parameter ${name}`);
      return encodeURIComponent(value);
    });
    const query = new URLSearchParams();
    const text = (value: unknown) => (value instanceof Date ? value.toISOString() : String(value));
    for (const [name, value] of Object.entries(params.query ?? {})) {
      if (value === undefined) continue;
      // Parameters the document does not declare are sent as they are (form style): a test may need one.
      const declared = op.parameters.find((p) => p.name === name && p.in === 'query');
      if (declared?.content) {
        query.append(name, JSON.stringify(value));
        continue;
      }
      const style = declared?.style ?? 'form';
      const explode = declared?.explode ?? style === 'form';
      if (style === 'deepObject' && typeof value === 'object' && value !== null) {
        for (const [key, item] of Object.entries(value)) query.append(`${name}[${key}]`, text(item));
      } else if (Array.isArray(value)) {
        if (explode) for (const item of value) query.append(name, text(item));
        else query.append(name, value.map(text).join(','));
      } else if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
        if (explode) for (const [key, item] of Object.entries(value)) query.append(key, text(item));
        else query.append(name, Object.entries(value).flat().map(text).join(','));
      } else query.append(name, text(value));
    }
    const search = query.toString();
    return `${baseUrl.replace(/\/$/, '')}${path}${search ? `?${search}` : ''}`;
  }

  /** What is wrong with a value by a schema of `components/schemas`; empty when it is valid. */
  validateSchema(name: string, value: unknown): string[] {
    this.schema(name);
    return this.check(['components', 'schemas', name], value);
  }

  /** What is wrong with a request body by the operation's request schema for its media type; empty when valid. */
  validateRequest(operationId: string, mediaType: string, body: unknown): string[] {
    const op = this.operation(operationId);
    if (!op.requestBody) return [`${operationId} takes no body`];
    if (!op.requestBody.content[mediaType]?.schema)
      return [`${operationId} takes no ${mediaType} body (it takes ${Object.keys(op.requestBody.content).join(', ')})`];
    return this.check([...op.requestBody.at, 'content', mediaType, 'schema'], body);
  }

  /**
   * What is wrong with an answer by the operation: its status must be one the operation declares (or fall
   * under `default`), its media type one declared for that status, its body valid under the declared schema
   * (no body where none is declared). Empty when the answer conforms.
   */
  validateResponse(operationId: string, answer: Answer): string[] {
    const op = this.operation(operationId);
    const status = String(answer.status);
    const key = [status, `${status[0]}XX`, 'default'].find((k) => op.responses[k]);
    if (!key) return [`status ${status} is not one ${operationId} declares (${Object.keys(op.responses).join(', ')})`];
    const declared = op.responses[key];
    const under = key === status ? `status ${status}` : `status ${status} (under ${key})`;
    const content = declared.content ?? {};
    const mediaType = answer.contentType.split(';')[0].trim().toLowerCase();
    const empty = answer.body === undefined || answer.body === '';
    if (Object.keys(content).length === 0)
      return empty ? [] : [`${under} declares no content, got ${mediaType || 'a body'}: ${preview(answer.body)}`];
    const media = content[mediaType];
    if (!media)
      return [
        `${under} is declared as ${Object.keys(content).join(' or ')}, answered as ${mediaType || '(no content type)'}`,
      ];
    if (!media.schema) return [];
    const problems = this.check([...declared.at, 'content', mediaType, 'schema'], answer.body);
    return problems.map((p) => `${under} ${mediaType}: ${p}`);
  }

  private check(segments: string[], value: unknown): string[] {
    const at = pointer(segments);
    let validate = this.validators.get(at);
    if (!validate) {
      validate = this.ajv.getSchema(at);
      if (!validate) throw new Error(`no schema at ${at}`);
      this.validators.set(at, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath || '(the body)'} ${e.message}${e.params && Object.keys(e.params).length > 0 ? ` ${JSON.stringify(e.params)}` : ''}`,
    );
  }
}

/**
 * OpenAPI 3.0's `nullable: true` as OpenMeter's own server reads it (kin-openapi: a null is valid wherever the
 * schema is nullable, before any other keyword): ajv's `nullable` adds null to `type` only, so a nullable
 * schema's `enum` gets null, its `allOf` parts admit null, its `anyOf`/`oneOf` get a null alternative, and a
 * nullable schema without `type` becomes "null, or the schema". Examples are left as they are.
 */
const admitNull = (node: unknown): unknown => {
  if (Array.isArray(node)) return node.map(admitNull);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node))
    out[key] = key === 'example' || key === 'examples' ? value : admitNull(value);
  if (out.nullable !== true) return out;
  const isNull = { type: 'null' };
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (Array.isArray(out.allOf)) out.allOf = out.allOf.map((part) => ({ anyOf: [isNull, part] }));
  if (Array.isArray(out.anyOf)) out.anyOf = [...out.anyOf, isNull];
  if (Array.isArray(out.oneOf)) out.oneOf = [...out.oneOf, isNull];
  if (out.type === undefined) {
    const { nullable: _nullable, ...rest } = out;
    return { anyOf: [isNull, rest] };
  }
  return out;
};

const preview = (body: unknown) => {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
};
