import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ProblemException, problemType } from './problem';
import { TallyRuntime } from './runtime';
import { RUNTIME } from './tokens';

/**
 * Who may call a route. Every route is `admin` (the operator's TALLY_ADMIN_TOKEN) unless marked:
 * `public` (health) or `producer` (intake: a producer API key, checked by the ingestion app's own guard).
 */
export type AuthKind = 'public' | 'admin' | 'producer';
export const AUTH_KIND = 'tally:auth-kind';
export const Public = () => SetMetadata(AUTH_KIND, 'public' satisfies AuthKind);
export const ProducerOnly = () => SetMetadata(AUTH_KIND, 'producer' satisfies AuthKind);

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

@Injectable()
export class AdminAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const kind = this.reflector.getAllAndOverride<AuthKind | undefined>(AUTH_KIND, [context.getHandler(), context.getClass()]) ?? 'admin';
    if (kind !== 'admin') return true;
    const expected = this.runtime.config.TALLY_ADMIN_TOKEN;
    const token = bearerToken(context.switchToHttp().getRequest<FastifyRequest>());
    if (!token) throw unauthorized('this endpoint needs the admin token: Authorization: Bearer <TALLY_ADMIN_TOKEN>');
    if (!expected || !sameSecret(token, expected)) throw unauthorized('the admin token is not valid');
    return true;
  }
}
