import { applyDecorators, CanActivate, ExecutionContext, Inject, Injectable, SetMetadata, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiKeyRow } from '@tally/ingestion/data-access-intake';
import { bearerToken, ProducerOnly, RUNTIME, sameSecret, TallyRuntime, unauthorized } from '@tally/shared/feature-runtime';
import { ApiKeysService } from './api-keys.service';

export type ProducerRequest = FastifyRequest & { producer: Pick<ApiKeyRow, 'tenant' | 'allowedSources'> };

const ADMIN_TOO = 'tally:producer-route-admits-admin';

/** Intake routes: a live producer API key, whose tenant and allowed sources then apply to the events. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly reflector: Reflector,
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ProducerRequest>();
    const key = bearerToken(request);
    if (!key) throw unauthorized('intake needs a producer API key: Authorization: Bearer tally_…');
    const adminToken = this.runtime.config.TALLY_ADMIN_TOKEN;
    if (this.reflector.get<boolean>(ADMIN_TOO, context.getHandler()) && adminToken && sameSecret(key, adminToken)) {
      request.producer = { tenant: this.runtime.tenant, allowedSources: ['*'] };
      return true;
    }
    const producer = await this.keys.authenticate(key);
    if (!producer) throw unauthorized('the API key is unknown or revoked');
    request.producer = producer;
    return true;
  }
}

/** A route for producers (their API key); `{ admin: true }` lets the admin token in too, for the admin's tenant. */
export const ProducerRoute = (options: { admin?: boolean } = {}) => applyDecorators(ProducerOnly(), SetMetadata(ADMIN_TOO, options.admin ?? false), UseGuards(ApiKeyGuard));
