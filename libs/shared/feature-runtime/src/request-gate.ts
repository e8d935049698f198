import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessUnavailableError, credentialTokenPrefix } from '@tally/shared/data-access-access';
import {
  AuthKind,
  authKindOf,
  bearerToken,
  Caller,
  forbidden,
  GatedRequest,
  notPermitted,
  permits,
  Producer,
  sameSecret,
  unauthorized,
} from './auth';
import { badRequest, notFound, ProblemException, problemType, sendProblem, toProblem } from './problem';
import { TallyRuntime } from './runtime';
import { RUNTIME } from './tokens';

/** Checks a producer API key: the ingestion app provides it; a process without ingestion has no producer routes. */
export type ProducerKeyCheck = (key: string) => Promise<(Producer & { keyId: string }) | undefined>;

@Injectable()
export class ProducerKeys {
  check?: ProducerKeyCheck;
}

/**
 * Who asks over NATS (the request subjects a platform's services use: the meter query): the credential in the
 * request's `Authorization` header, admitted as a GET of the same data would be over HTTP.
 */
@Injectable()
export class NatsCallers {
  /** The same limit per credential as HTTP's (TALLY_RATE_LIMIT_PER_SECOND), counted apart from it. */
  private readonly limits: RateLimits;

  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {
    this.limits = new RateLimits(runtime.config.TALLY_RATE_LIMIT_PER_SECOND);
  }

  async reader(headers: Readonly<Record<string, string>>): Promise<Caller> {
    const header = (name: string) =>
      Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1] || undefined;
    const token = /^Bearer\s+(\S+)$/i.exec(header('authorization') ?? '')?.[1];
    const caller = await identify('read', 'GET', token, header('tally-tenant'), this.runtime, new ProducerKeys());
    const wait = this.limits.take(caller.id);
    if (wait > 0) throw rateLimited(this.runtime, wait);
    return caller;
  }
}

const rateLimited = (runtime: TallyRuntime, wait: number) =>
  new ProblemException({
    type: problemType('rate-limited'),
    title: 'Too many requests',
    status: 429,
    detail: `more than ${runtime.config.TALLY_RATE_LIMIT_PER_SECOND} requests a second with this credential; retry in ${wait} s`,
  });

/** Where the interactive API reference is served (Swagger UI, a Fastify plugin: no route marks of Nest's). */
export const docsPrefix = '/docs';

/** A token bucket per credential: `perSecond` requests a second, bursts of twice that. */
class RateLimits {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly perSecond: number) {}

  /** 0 when the request may go; otherwise the seconds until it may. */
  take(id: string, now = Date.now()): number {
    if (this.perSecond === 0) return 0;
    const capacity = this.perSecond * 2;
    const bucket = this.buckets.get(id) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1_000) * this.perSecond);
    bucket.at = now;
    if (this.buckets.size > 100_000) this.buckets.clear(); // bounded: a flood of distinct keys forgets, it never grows
    this.buckets.set(id, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perSecond);
  }
}

/**
 * Answers before the body is read, and closes the connection: the unread body is then dropped by the
 * kernel instead of being read and discarded by this process (a 5 MB flood costs a header's worth).
 */
const refuse = (reply: FastifyReply, error: unknown): FastifyReply => {
  void reply.header('connection', 'close');
  sendProblem(reply, toProblem(error));
  return reply;
};

/**
 * The request gate, on every route, before a byte of the body is read (Fastify's onRequest and
 * preParsing hooks run before the content-type parser):
 * 1. authentication from the headers — the admin token, or a producer API key (one indexed lookup), as
 *    the route's mark asks; a request without a valid credential is answered 401 and its body never parsed;
 * 2. a rate limit per credential (TALLY_RATE_LIMIT_PER_SECOND, bursts of twice that): 429 + Retry-After;
 * 3. a budget of body bytes in flight per process (TALLY_MAX_BODY_BYTES_IN_FLIGHT, by Content-Length, the
 *    body limit when unknown), held until the answer is sent: beyond it 503 + Retry-After, so a flood of
 *    large bodies cannot take the memory or the CPU that legitimate requests need.
 */
export const installRequestGate = (
  fastify: FastifyInstance,
  runtime: TallyRuntime,
  producerKeys: () => ProducerKeys,
  maxBodyBytes: number,
): void => {
  const limits = new RateLimits(runtime.config.TALLY_RATE_LIMIT_PER_SECOND);
  const budget = runtime.config.TALLY_MAX_BODY_BYTES_IN_FLIGHT;
  let inFlight = 0;
  const held = new WeakMap<FastifyRequest, number>();
  const release = async (request: FastifyRequest) => {
    const bytes = held.get(request);
    if (bytes !== undefined) {
      held.delete(request);
      inFlight -= bytes;
    }
  };

  fastify.addHook('onRequest', async (request: GatedRequest, reply) => {
    if (request.url === docsPrefix || request.url.startsWith(`${docsPrefix}/`)) return; // the API reference: public
    const kind = authKindOf(
      (request.routeOptions.config as { tallyAuth?: AuthKind } | undefined)?.tallyAuth,
      request.method,
    );
    if (kind === 'public') return;
    let caller: Caller;
    try {
      caller = await identify(
        kind,
        request.method,
        bearerToken(request),
        tenantHeader(request),
        runtime,
        producerKeys(),
      );
    } catch (error) {
      return refuse(reply, error);
    }
    request.caller = caller;
    request.producer =
      caller.producer ?? (kind === 'producer-or-admin' ? { tenant: caller.tenant, allowedSources: ['*'] } : undefined);
    const wait = limits.take(caller.id);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      return refuse(reply, rateLimited(runtime, wait));
    }
  });

  fastify.addHook('preParsing', async (request, reply, payload) => {
    const length = Number(
      request.headers['content-length'] ?? (request.headers['transfer-encoding'] ? maxBodyBytes : 0),
    );
    if (!(length > 0)) return payload;
    const bytes = Math.min(length, maxBodyBytes);
    if (inFlight + bytes > budget && inFlight > 0) {
      refuse(
        reply,
        new ProblemException({
          type: problemType('busy'),
          title: 'Busy',
          status: 503,
          detail: `this process is reading ${inFlight} bytes of request bodies already (limit ${budget}); retry shortly`,
        }),
      );
      return payload;
    }
    inFlight += bytes;
    held.set(request, bytes);
    return payload;
  });
  // Text Postgres cannot store (NUL, lone surrogates) is refused as the request's fault before any handler
  // sees it — in a path parameter, the query, or any string of a body (intake validates its own bodies).
  fastify.addHook('preValidation', async (request, reply) => {
    const where =
      unstorable(request.params, 'path') ??
      unstorable(request.query, 'query') ??
      (intakeRoutes.test(request.url) ? undefined : unstorable(request.body, 'body'));
    if (where)
      return refuse(
        reply,
        badRequest(`${where} contains a NUL character or invalid unicode`, [
          { field: where, message: 'NUL characters and lone surrogates cannot be stored' },
        ]),
      );
  });
  fastify.addHook('onResponse', release);
  fastify.addHook('onRequestAbort', release);
};

/** Intake routes check every string of their bodies themselves (per event, with the event's index). */
const intakeRoutes = /^\/(api\/)?v1\/events(\/|\?|$)/;

/** The path of the first string that cannot be stored, depth-first, or undefined. */
const unstorable = (value: unknown, path: string, depth = 0): string | undefined => {
  if (typeof value === 'string') return value.includes('\u0000') || !value.isWellFormed() ? path : undefined;
  if (depth > 32 || typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const found = unstorable(key, `${path}.${key}`, depth + 1) ?? unstorable(item, `${path}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
};

const unavailable = (error: unknown): never => {
  if (!(error instanceof AccessUnavailableError)) throw error;
  throw new ProblemException({
    type: problemType('auth-unavailable'),
    title: 'Credentials cannot be checked',
    status: 503,
    detail:
      'the credential store is unreachable right now and this credential was not verified recently; retry shortly',
  });
};

const knownTenant = async (runtime: TallyRuntime, tenant: string): Promise<boolean> =>
  (await runtime.access.tenant(tenant).catch(unavailable)) !== undefined;

/** The tenant a request asks to act for (header Tally-Tenant), if it names one. */
const tenantHeader = (request: FastifyRequest): string | undefined => {
  const value = request.headers['tally-tenant'];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/**
 * Who is calling, from the Authorization header alone, and for which tenant — or a 401 / 403 / 404 / 503.
 * Producer keys are looked up only on routes producers may call (the ingestion process knows them), so a
 * producer key on an admin route is unknown there, in every process alike.
 */
const identify = async (
  kind: Exclude<AuthKind, 'public'>,
  method: string,
  token: string | undefined,
  asked: string | undefined,
  runtime: TallyRuntime,
  keys: ProducerKeys,
): Promise<Caller> => {
  if (!token)
    throw unauthorized(
      kind === 'producer'
        ? 'intake needs a producer API key: Authorization: Bearer tally_…'
        : 'this endpoint needs a credential: Authorization: Bearer …',
    );
  let caller: Caller;
  const operatorToken = runtime.config.TALLY_ADMIN_TOKEN;
  if (kind !== 'producer' && operatorToken && sameSecret(token, operatorToken)) {
    const tenant = asked ?? runtime.config.TALLY_TENANT;
    if (asked !== undefined && !(await knownTenant(runtime, asked)))
      throw notFound(`no tenant ${asked} (the operator creates tenants with POST /v1/admin/tenants)`);
    caller = { id: 'operator', role: 'operator', tenant };
  } else if (kind !== 'producer' && token.startsWith(credentialTokenPrefix)) {
    const credential = await runtime.access.authenticate(token, runtime.clock()).catch(unavailable);
    if (!credential) throw unauthorized('the credential is unknown, revoked or expired');
    caller = { id: `credential:${credential.id}`, role: credential.role, tenant: credential.tenant };
  } else if (kind === 'producer' || kind === 'producer-or-admin') {
    const producer = keys.check ? await keys.check(token) : undefined;
    if (!producer) throw unauthorized('the API key is unknown or revoked');
    caller = {
      id: `key:${producer.keyId}`,
      role: 'producer',
      tenant: producer.tenant,
      producer: { tenant: producer.tenant, allowedSources: producer.allowedSources },
    };
  } else {
    throw unauthorized(
      operatorToken && token.startsWith('tally_')
        ? 'producer API keys are for intake and status; this endpoint needs an admin or billing-viewer credential'
        : 'the credential is not valid',
    );
  }
  if (asked !== undefined && asked !== caller.tenant)
    throw forbidden(`this credential acts for tenant ${caller.tenant}; it cannot act for ${asked}`);
  if (!permits(kind, caller.role, method)) throw notPermitted(kind, caller.role);
  return caller;
};
