import { applyDecorators, CanActivate, ExecutionContext, Injectable, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { ApiKeyRow } from '@tally/ingestion/data-access-intake';
import { bearerToken, ProducerOnly, unauthorized } from '@tally/shared/feature-runtime';
import { ApiKeysService } from './api-keys.service';

export type ProducerRequest = FastifyRequest & { producer: ApiKeyRow };

/** Intake routes: a live producer API key, whose tenant and allowed sources then apply to the events. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeysService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<ProducerRequest>();
    const key = bearerToken(request);
    if (!key) throw unauthorized('intake needs a producer API key: Authorization: Bearer tally_…');
    const producer = await this.keys.authenticate(key);
    if (!producer) throw unauthorized('the API key is unknown or revoked');
    request.producer = producer;
    return true;
  }
}

export const ProducerRoute = () => applyDecorators(ProducerOnly(), UseGuards(ApiKeyGuard));
