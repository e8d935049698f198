import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isCurrency, validateCharges } from '@tally/invoicing/domain';
import { ApiDoc, badRequest, notFound, ProblemError } from '@tally/shared/feature-runtime';
import { parseRfc3339 } from '@tally/shared/util-core';
import { PlansService, PlanView } from './plans.service';

const keyPattern = /^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$/;

const objectBody = (input: unknown, errors: ProblemError[]): Record<string, unknown> => {
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as Record<string, unknown>;
  errors.push({ field: '', message: 'the body must be a JSON object' });
  return {};
};

const charges = (body: Record<string, unknown>, errors: ProblemError[]) => {
  const checked = validateCharges(body.charges ?? []);
  if (checked.ok) return checked.charges;
  errors.push(
    ...checked.errors.map((e) => ({
      field: e.field.startsWith('charges') ? e.field : `charges${e.field ? `.${e.field}` : ''}`,
      message: e.message,
    })),
  );
  return [];
};

const validatePlan = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  const { id, name, currency } = body;
  for (const key of Object.keys(body))
    if (!['id', 'name', 'currency', 'charges'].includes(key))
      errors.push({ field: key, message: `unknown field ${key}` });
  if (typeof id !== 'string' || !keyPattern.test(id))
    errors.push({ field: 'id', message: 'id must be 1–128 characters: letters, digits and . : @ + -' });
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200)
    errors.push({ field: 'name', message: 'name is required: 1–200 characters' });
  if (typeof currency !== 'string' || !isCurrency(currency))
    errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code such as USD or EUR' });
  const validCharges = charges(body, errors);
  if (errors.length > 0) throw badRequest('the plan is invalid', errors);
  return { planId: id as string, name: (name as string).trim(), currency: currency as string, charges: validCharges };
};

const validateRevision = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = objectBody(input, errors);
  for (const key of Object.keys(body))
    if (!['effectiveFrom', 'charges'].includes(key)) errors.push({ field: key, message: `unknown field ${key}` });
  const effectiveFrom = typeof body.effectiveFrom === 'string' ? parseRfc3339(body.effectiveFrom) : undefined;
  if (!effectiveFrom)
    errors.push({
      field: 'effectiveFrom',
      message: 'effectiveFrom is required: an RFC 3339 instant, e.g. 2026-12-01T00:00:00Z',
    });
  if (body.charges === undefined)
    errors.push({ field: 'charges', message: 'charges is required: the whole price list of the new version' });
  const validCharges = charges(body, errors);
  if (errors.length > 0) throw badRequest('the plan version is invalid', errors);
  return { effectiveFrom: (effectiveFrom as Date).toISOString(), charges: validCharges };
};

@Controller('v1/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  /** 201 when created, 200 when the same plan already existed, 409 when the id is taken by another. */
  @ApiDoc({ summary: 'Create a price plan' })
  @Post()
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, plan } = await this.plans.create(validatePlan(body));
    void reply.status(created ? 201 : 200);
    return present(plan);
  }

  /** New prices from an instant on (not in the past); 201, or 200 when the same version exists. */
  @ApiDoc({ summary: 'Publish a new version of a plan' })
  @Post(':id/versions')
  async revise(@Param('id') id: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, plan } = await this.plans.revise(id, validateRevision(body));
    void reply.status(created ? 201 : 200);
    return present(plan);
  }

  @ApiDoc({ summary: 'A plan and its versions' })
  @Get(':id')
  async plan(@Param('id') id: string) {
    const plan = await this.plans.plan(id);
    if (!plan) throw notFound(`no plan ${id}`);
    return present(plan);
  }
}

const present = (p: PlanView) => {
  const latest = p.versions[p.versions.length - 1];
  return {
    id: p.planId,
    name: p.name,
    currency: p.currency,
    createdAt: p.createdAt,
    latestVersion: latest.version,
    versions: p.versions,
  };
};
