import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { validateApiKeyRequest } from '@tally/ingestion/domain';
import { AdminOnly, ApiDoc, badRequest, notFound } from '@tally/shared/feature-runtime';
import { isUuid } from '@tally/shared/util-core';
import { ApiKeysService } from './api-keys.service';
import { ApiKey, apiKeyIdParam, ApiKeyList, ApiKeyRequest, NewApiKey } from './intake.schemas';

/** Producer API keys of the caller's tenant: an admin credential (or the operator) manages them. */
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  /** 201 with the key itself — shown only in this answer; store it in the producer's secret store. */
  @ApiDoc({
    summary: 'Create a producer API key',
    body: ApiKeyRequest,
    responses: { 201: { description: 'created: the key is shown in this answer only', schema: NewApiKey } },
  })
  @Post()
  @HttpCode(201)
  async create(@Body() body: unknown) {
    // The body's schema (ApiKeyRequest) has checked it; the domain's validator builds the request (name trimmed).
    const checked = validateApiKeyRequest(body);
    if (!checked.ok) throw badRequest('the API key request is invalid', checked.errors);
    return this.keys.create(checked.value);
  }

  @ApiDoc({
    summary: 'List producer API keys',
    responses: { 200: { description: "the tenant's keys, revoked ones included", schema: ApiKeyList } },
  })
  @Get()
  @AdminOnly()
  async list() {
    return { items: await this.keys.list() };
  }

  /** Revokes at once: the next request with this key gets 401. Idempotent. */
  @ApiDoc({
    summary: 'Revoke a producer API key',
    params: apiKeyIdParam,
    responses: { 200: { description: 'revoked (again: the first revocation time stays)', schema: ApiKey } },
  })
  @Delete(':id')
  async revoke(@Param('id') id: string) {
    if (!isUuid(id)) throw notFound(`no API key ${id}`);
    return (await this.keys.revoke(id)) ?? notFoundKey(id);
  }
}

const notFoundKey = (id: string): never => {
  throw notFound(`no API key ${id}`);
};
