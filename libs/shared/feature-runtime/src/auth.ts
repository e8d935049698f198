import { applyDecorators, CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ProblemException, problemType } from './problem';

/**
 * Who may call a route. Every route is `admin` (the operator's TALLY_ADMIN_TOKEN) unless marked `public`
 * (health, API descriptions), `producer` (intake: a producer API key) or `producer-or-admin`. The marks
 * are read twice: by the request gate, from the route's Fastify config, before the body is read (see
 * request-gate.ts), and by the Nest guard below, which only confirms what the gate decided.
 */
export type AuthKind = 'public' | 'admin' | 'producer' | 'producer-or-admin';
export const AUTH_KIND = 'tally:auth-kind';
const mark = (kind: AuthKind) => applyDecorators(SetMetadata(AUTH_KIND, kind), RouteConfig({ tallyAuth: kind }));
export const Public = () => mark('public');
export const ProducerOnly = (options: { admin?: boolean } = {}) => mark(options.admin ? 'producer-or-admin' : 'producer');

/** What a producer API key allows: its tenant and the sources it may send (and read). */
export interface Producer {
  tenant: string;
  allowedSources: readonly string[];
}

/** Who the gate found behind the request's credential. */
export type Caller = { kind: 'admin'; id: string } | { kind: 'producer'; id: string; producer: Producer };

export type GatedRequest = FastifyRequest & { caller?: Caller; producer?: Producer };

export const unauthorized = (detail: string) => new ProblemException({ type: problemType('unauthorized'), title: 'Unauthorized', status: 401, detail });
export const forbidden = (detail: string, errors?: { index?: number; field: string; message: string }[]) =>
  new ProblemException({ type: problemType('forbidden'), title: 'Forbidden', status: 403, detail, errors });

export const bearerToken = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
};

/** Constant-time comparison of secrets of any length (hash both, compare digests). */
export const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

/** The Nest side of authentication: the request gate has already admitted the caller; this refuses a route's wrong kind. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (kind === 'public') return true;
    const caller = context.switchToHttp().getRequest<GatedRequest>().caller;
    if (!caller) throw unauthorized('this endpoint needs a credential: Authorization: Bearer …');
    if (kind === 'admin' && caller.kind !== 'admin') throw unauthorized('this endpoint needs the admin token: Authorization: Bearer <TALLY_ADMIN_TOKEN>');
    if (kind === 'producer' && caller.kind !== 'producer') throw unauthorized('intake needs a producer API key: Authorization: Bearer tally_…');
    return true;
  }
}
