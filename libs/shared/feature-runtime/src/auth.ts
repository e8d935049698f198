import {
  applyDecorators,
  CallHandler,
  CanActivate,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RouteConfig } from '@nestjs/platform-fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { ProblemError, ProblemException, problemType } from './problem';
import { actFor } from './tenant-scope';

/**
 * Who may call a route, by role:
 * - `operator`: the bootstrap operator credential (TALLY_ADMIN_TOKEN), which creates tenants and may act
 *   for any tenant (header `Tally-Tenant`, default TALLY_TENANT); it also holds every admin right;
 * - `admin`: an admin credential of a tenant (or the operator);
 * - `read`: a billing viewer, read-only, or an admin (or the operator);
 * - `producer`: a producer API key; `producer-or-admin`: either, a billing viewer too where the route only reads;
 * - `public`: anyone (health, API descriptions).
 * An unmarked route is `read` when it is a GET (reads) and `admin` otherwise; `AdminOnly()` keeps a GET
 * from billing viewers, `ReadOnly()` opens a POST that only reads to them. The marks are read twice: by the request gate, from the route's Fastify config,
 * before the body is read (see request-gate.ts), and by the Nest guard below, which confirms it.
 */
export type AuthKind = 'public' | 'operator' | 'admin' | 'read' | 'producer' | 'producer-or-admin';
export const AUTH_KIND = 'tally:auth-kind';
const mark = (kind: AuthKind) => applyDecorators(SetMetadata(AUTH_KIND, kind), RouteConfig({ tallyAuth: kind }));
export const Public = () => mark('public');
export const ProducerOnly = (options: { admin?: boolean } = {}) =>
  mark(options.admin ? 'producer-or-admin' : 'producer');
export const AdminOnly = () => mark('admin');
/** A POST that only reads (a query asked in a body): billing viewers may call it, like a GET. */
export const ReadOnly = () => mark('read');
export const OperatorOnly = () => mark('operator');

const reads = (method: string) => method === 'GET' || method === 'HEAD';
/** The kind of a route from its mark, or from its method when unmarked. */
export const authKindOf = (marked: AuthKind | undefined, method: string): AuthKind =>
  marked ?? (reads(method) ? 'read' : 'admin');

/** What a producer API key allows: its tenant and the sources it may send (and read). */
export interface Producer {
  tenant: string;
  allowedSources: readonly string[];
}

export type Role = 'operator' | 'admin' | 'billing-viewer' | 'producer';

/** Who the gate found behind the request's credential, and the tenant the request acts for. */
export interface Caller {
  id: string;
  role: Role;
  tenant: string;
  producer?: Producer;
}

/** Whether a role may call a route of this kind (pure: the request gate and the guard share it). */
export const permits = (kind: AuthKind, role: Role, method: string): boolean => {
  switch (kind) {
    case 'public':
      return true;
    case 'operator':
      return role === 'operator';
    case 'admin':
      return role === 'operator' || role === 'admin';
    case 'read':
      return role !== 'producer';
    case 'producer':
      return role === 'producer';
    case 'producer-or-admin':
      return role !== 'billing-viewer' || reads(method);
  }
};

const roleNames: Record<Role, string> = {
  operator: 'the operator credential',
  admin: 'an admin credential',
  'billing-viewer': 'a billing viewer (read-only) credential',
  producer: 'a producer API key',
};
const kindNeeds: Record<AuthKind, string> = {
  public: 'nothing',
  operator: 'the operator credential (TALLY_ADMIN_TOKEN)',
  admin: 'an admin credential',
  read: 'an admin or billing-viewer credential',
  producer: 'a producer API key',
  'producer-or-admin': 'a producer API key or an admin credential',
};
/** Why a known caller may not call a route (403). */
export const notPermitted = (kind: AuthKind, role: Role) =>
  forbidden(`this route needs ${kindNeeds[kind]}; the request carries ${roleNames[role]}`);

export type GatedRequest = FastifyRequest & { caller?: Caller; producer?: Producer };

export const unauthorized = (detail: string) =>
  new ProblemException({ type: problemType('unauthorized'), title: 'Unauthorized', status: 401, detail });
export const forbidden = (detail: string, errors?: ProblemError[]) =>
  new ProblemException({ type: problemType('forbidden'), title: 'Forbidden', status: 403, detail, errors });

export const bearerToken = (request: FastifyRequest): string | undefined => {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
};

/** Constant-time comparison of secrets of any length (hash both, compare digests). */
export const sameSecret = (given: string, expected: string): boolean =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

/** The Nest side of authentication: the request gate has already admitted the caller; this confirms the route's kind. */
@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<GatedRequest>();
    const kind = authKindOf(
      this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [context.getHandler(), context.getClass()]),
      request.method,
    );
    if (kind === 'public') return true;
    const caller = request.caller;
    if (!caller) throw unauthorized('this endpoint needs a credential: Authorization: Bearer …');
    if (!permits(kind, caller.role, request.method)) throw notPermitted(kind, caller.role);
    return true;
  }
}

/** Runs each admitted request's handler as its caller's tenant (see tenant-scope.ts). */
@Injectable()
export class TenantScopeInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const tenant =
      context.getType() === 'http' ? context.switchToHttp().getRequest<GatedRequest>().caller?.tenant : undefined;
    if (tenant === undefined) return next.handle();
    return new Observable((subscriber) => actFor(tenant, () => next.handle().subscribe(subscriber)));
  }
}
