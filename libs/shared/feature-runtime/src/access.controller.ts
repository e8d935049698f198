import { ApiDoc } from './openapi';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AccessStore, CredentialRole, credentialRoles } from '@tally/shared/data-access-access';
import { FieldError, isUuid } from '@tally/shared/util-core';
import { AdminOnly, GatedRequest, OperatorOnly } from './auth';
import { badRequest, notFound } from './problem';
import { ACCESS, CLOCK, Clock } from './tokens';
import { Tenancy } from './tenancy';
import {
  Credential,
  credentialIdParam,
  CredentialList,
  CredentialRequest,
  IssuedCredential,
  Tenant,
  TenantList,
  TenantRequest,
  TenantRequestBody,
} from './runtime.schemas';

const validCredential = (
  body: unknown,
  now: Date,
): { ok: true; name: string; role: CredentialRole; expiresAt?: string } | { ok: false; errors: FieldError[] } => {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const errors: FieldError[] = [];
  if (typeof b.name !== 'string' || b.name.trim() === '' || b.name.length > 200)
    errors.push({ field: 'name', message: 'a name of 1 to 200 characters (who or what holds the credential)' });
  if (!credentialRoles.includes(b.role as CredentialRole))
    errors.push({
      field: 'role',
      message: `one of ${credentialRoles.join(', ')} (producers get API keys: POST /v1/api-keys)`,
    });
  const expires =
    typeof b.expiresAt === 'string' && /^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:\d{2})$/.test(b.expiresAt)
      ? Date.parse(b.expiresAt)
      : Number.NaN;
  if (b.expiresAt !== undefined && !(expires > now.getTime()))
    errors.push({ field: 'expiresAt', message: 'an RFC 3339 timestamp with an offset, in the future' });
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    name: b.name as string,
    role: b.role as CredentialRole,
    expiresAt: b.expiresAt === undefined ? undefined : new Date(expires).toISOString(),
  };
};

/**
 * Tenants (the operator's) and each tenant's administrative credentials (its admins'). Served by every
 * app over the shared credential store, so any app's port administers access.
 */
@Controller('v1/admin')
export class AccessController {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(ACCESS) private readonly access: AccessStore,
  ) {}

  /** 201 for a new tenant; 200 with the tenant when the id exists already (creating is idempotent). */
  @ApiDoc({
    summary: 'Create a tenant (operator)',
    body: TenantRequest,
    responses: {
      201: { description: 'the tenant, created', schema: Tenant },
      200: { description: 'the tenant, which existed already (creating is idempotent)', schema: Tenant },
    },
  })
  @Post('tenants')
  @OperatorOnly()
  async createTenant(@Body() body: TenantRequestBody, @Res({ passthrough: true }) reply: FastifyReply) {
    // The body's schema (TenantRequest) has checked it before this runs.
    const { id, name = id } = body;
    const { created, tenant } = await this.access.createTenant(id, name, this.clock().toISOString());
    void reply.status(created ? 201 : 200);
    return tenant;
  }

  @ApiDoc({
    summary: 'List tenants (operator)',
    responses: { 200: { description: 'every tenant, by id', schema: TenantList } },
  })
  @Get('tenants')
  @OperatorOnly()
  async tenants() {
    return { tenants: await this.access.tenants() };
  }

  /** 201 with the token itself — shown only in this answer. For the caller's tenant (the operator: Tally-Tenant). */
  @ApiDoc({
    summary: 'Create an admin or billing-viewer credential',
    body: CredentialRequest,
    bodyCheckedBy:
      'validCredential: it names every wrong field at once, the expiry in the future by the service clock among them',
    responses: { 201: { description: 'the credential with its token, shown only here', schema: IssuedCredential } },
  })
  @Post('credentials')
  @HttpCode(201)
  async issue(@Body() body: unknown, @Req() request: GatedRequest) {
    const now = this.clock();
    const checked = validCredential(body, now);
    if (!checked.ok) throw badRequest('the credential request is invalid', checked.errors);
    const { name, role, expiresAt } = checked;
    return this.access.issue({
      tenant: this.tenancy.current,
      role,
      name,
      expiresAt,
      createdBy: request.caller?.id ?? 'unknown',
      at: now.toISOString(),
    });
  }

  @ApiDoc({
    summary: 'List credentials',
    responses: {
      200: { description: "the tenant's credentials, oldest first, without tokens", schema: CredentialList },
    },
  })
  @Get('credentials')
  @AdminOnly()
  async list() {
    return { credentials: await this.access.list(this.tenancy.current) };
  }

  /** Revokes at once in every process: the next request with it gets 401. Idempotent. */
  @ApiDoc({
    summary: 'Revoke a credential',
    params: credentialIdParam,
    responses: { 200: { description: 'the credential, revoked (at its first revocation)', schema: Credential } },
  })
  @Delete('credentials/:id')
  async revoke(@Param('id') id: string) {
    const revoked = isUuid(id)
      ? await this.access.revoke(this.tenancy.current, id, this.clock().toISOString())
      : undefined;
    if (!revoked) throw notFound(`no credential ${id} in tenant ${this.tenancy.current}`);
    return revoked;
  }
}
