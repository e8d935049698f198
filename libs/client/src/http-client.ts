import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './generated/tally-api';
import { Problem, TallyRefusedError } from './problem';

export type { components, operations, paths } from './generated/tally-api';

export interface TallyHttpOptions {
  /** Where Tally answers, e.g. `http://127.0.0.1:3000` (npm start) or one app's address. */
  baseUrl: string;
  /** An admin, billing-viewer or operator token, or a producer API key (`tally_…`) for intake. */
  token: string;
  /** The operator acting for one tenant (`Tally-Tenant`); tenant credentials are bound to theirs. */
  tenant?: string;
  /** Another fetch (tests, proxies); the global one by default. */
  fetch?: typeof fetch;
}

/** A typed client of Tally's HTTP API: paths, parameters, bodies and answers from its OpenAPI document. */
export type TallyHttpClient = Client<paths>;

/**
 * The typed HTTP client (openapi-fetch over the types openapi-typescript writes from Tally's OpenAPI document):
 * `client.GET('/v1/accounts/{id}', { params: { path: { id } } })` answers `{ data, error, response }` — `data`
 * typed by the route's answer schema, `error` the problem document of a refusal.
 */
export const createTallyClient = (options: TallyHttpOptions): TallyHttpClient => {
  if (!options.token) throw new Error('createTallyClient: a token is required (Tally answers 401 without one)');
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: {
      authorization: `Bearer ${options.token}`,
      ...(options.tenant && { 'tally-tenant': options.tenant }),
    },
    ...(options.fetch && { fetch: options.fetch }),
  });
  return client;
};

/** The answer's data, or its problem thrown as TallyRefusedError: `const account = ok(await client.GET(…))`. */
export const ok = <T>(answer: { data?: T; error?: unknown; response: Response }): T => {
  if (answer.error !== undefined || !answer.response.ok)
    throw new TallyRefusedError(
      (answer.error as Problem | undefined) ?? {
        type: 'about:blank',
        title: answer.response.statusText,
        status: answer.response.status,
      },
    );
  return answer.data as T;
};
