import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

export type Schema = Record<string, unknown>;
export type Operation = {
  operationId: string;
  'x-tally-auth': string;
  parameters?: { name: string; in: string; schema: Schema }[];
  requestBody?: { content: Record<string, { schema: Schema }> };
  responses: Record<string, { content?: Record<string, { schema: Schema }>; $ref?: string }>;
};
export type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, unknown> };
};

/** One answer as it came over the wire. */
export interface Exchange {
  method: string;
  url: URL;
  status: number;
  contentType: string;
  text: string;
}

/**
 * The OpenAPI documents of running apps merged into one, with a validator (ajv, JSON Schema 2020-12) for the
 * schemas in it — for tests that hold answers to what the document says.
 */
export class ApiDocument {
  readonly servedBy = new Map<string, string>();
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });

  private constructor(readonly document: Document) {
    addFormats(this.ajv);
    this.ajv.addSchema(document as unknown as Schema, 'tally');
  }

  /** Each app's `/openapi.json`, merged; `servedBy` says which app serves an operation (`get /v1/…`). */
  static async of(urls: Record<string, string>): Promise<ApiDocument> {
    const merged: Document = { paths: {}, components: { schemas: {}, responses: {} } };
    const servedBy = new Map<string, string>();
    for (const [app, url] of Object.entries(urls)) {
      const one = (await (await fetch(`${url}/openapi.json`)).json()) as Document;
      for (const [path, operations] of Object.entries(one.paths)) {
        merged.paths[path] = { ...merged.paths[path], ...operations };
        for (const method of Object.keys(operations)) servedBy.set(`${method} ${path}`, app);
      }
      Object.assign(merged.components.schemas, one.components.schemas);
      Object.assign(merged.components.responses, one.components.responses);
    }
    const document = new ApiDocument(merged);
    for (const [key, app] of servedBy) document.servedBy.set(key, app);
    return document;
  }

  /** A validator for the schema at this place in the document (`paths`, `/v1/…`, `get`, …). */
  validator(...segments: string[]) {
    const pointer = `tally#/${segments.map((s) => s.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')}`;
    const validate = this.ajv.getSchema(pointer);
    if (!validate) throw new Error(`no schema at ${pointer}`);
    return (value: unknown): string | undefined => (validate(value) ? undefined : this.ajv.errorsText(validate.errors));
  }

  /** The documented operation a concrete request was for, and its `method path` key. */
  operationOf(method: string, pathname: string) {
    for (const [template, operations] of Object.entries(this.document.paths)) {
      const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
      if (pattern.test(pathname) && operations[method])
        return { template, key: `${method} ${template}`, operation: operations[method] };
    }
    return undefined;
  }

  /** What is wrong with this answer by the document; undefined when it is as documented. */
  complaintAbout(exchange: Exchange): string | undefined {
    const found = this.operationOf(exchange.method, exchange.url.pathname);
    if (!found) return 'not in the document';
    const { template, operation } = found;
    const status = String(exchange.status);
    const key = operation.responses[status]
      ? status
      : operation.responses[`${status[0]}XX`]
        ? `${status[0]}XX`
        : 'default';
    const media = exchange.contentType.split(';')[0].trim();
    if (key === 'default') {
      if (exchange.status < 400) return 'a status the document does not give';
      if (media !== 'application/problem+json') return `a refusal as ${media}`;
      return this.validator(
        'components',
        'responses',
        'Problem',
        'content',
        'application/problem+json',
        'schema',
      )(JSON.parse(exchange.text));
    }
    const content = operation.responses[key].content;
    if (!content) return exchange.text === '' ? undefined : 'a body where none is documented';
    const documented = Object.keys(content).find((type) => type.split(';')[0] === media);
    if (!documented) return `answered ${media}, documented ${Object.keys(content).join(', ')}`;
    const body = media.endsWith('json') ? JSON.parse(exchange.text) : exchange.text;
    return this.validator('paths', template, exchange.method, 'responses', key, 'content', documented, 'schema')(body);
  }
}

/** A fetch that keeps a copy of every answer in `exchanges`. */
export const recordingFetch =
  (exchanges: Exchange[]): typeof fetch =>
  async (input, init) => {
    const request = new Request(input, init);
    const response = await fetch(request);
    const text = await response.clone().text();
    exchanges.push({
      method: request.method.toLowerCase(),
      url: new URL(request.url),
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text,
    });
    return response;
  };
