import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { isCurrency, validateCharges } from '@tally/invoicing/domain';
import { ApiDoc, badRequest, notFound, ProblemError, QueryText, ReadsFrom, z } from '@tally/shared/feature-runtime';
import { parseRfc3339 } from '@tally/shared/util-core';
import { Plan, planIdParam, PlanList, planListQuery, PlanRequest, PlanVersionRequest } from './billing.schemas';
import { PlansService, PlanView } from './plans.service';

/** The charges' rules (libs/invoicing/domain charge.validation.ts), beyond the shape the body's schema checked. */
const charges = (input: unknown, errors: ProblemError[]) => {
  const checked = validateCharges(input);
  if (checked.ok) return checked.charges;
  errors.push(
    ...checked.errors.map((e) => ({
      field: e.field.startsWith('charges') ? e.field : `charges${e.field ? `.${e.field}` : ''}`,
      message: e.message,
    })),
  );
  return [];
};

// The body's schema (PlanRequest) has checked its shape before this runs: what is left is what a schema cannot say.
const validatePlan = (body: z.input<typeof PlanRequest>) => {
  const errors: ProblemError[] = [];
  if (!isCurrency(body.currency))
    errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code such as USD or EUR' });
  const validCharges = charges(body.charges ?? [], errors);
  if (errors.length > 0) throw badRequest('the plan is invalid', errors);
  return { planId: body.id, name: body.name.trim(), currency: body.currency, charges: validCharges };
};

// The body's schema (PlanVersionRequest) has checked its shape before this runs.
const validateRevision = (body: z.input<typeof PlanVersionRequest>) => {
  const errors: ProblemError[] = [];
  const effectiveFrom = parseRfc3339(body.effectiveFrom);
  if (!effectiveFrom)
    errors.push({
      field: 'effectiveFrom',
      message: 'effectiveFrom must be an RFC 3339 instant, e.g. 2026-12-01T00:00:00Z',
    });
  const validCharges = charges(body.charges, errors);
  if (errors.length > 0 || !effectiveFrom) throw badRequest('the plan version is invalid', errors);
  return { effectiveFrom: effectiveFrom.toISOString(), charges: validCharges };
};

@Controller('v1/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  /** 201 when created, 200 when the same plan already existed, 409 when the id is taken by another. */
  @ApiDoc({
    summary: 'Create a price plan',
    description: 'Version 1 of the plan, in force from the beginning.',
    body: PlanRequest,
    responses: {
      201: { description: 'created', schema: Plan },
      200: { description: 'the same plan already existed', schema: Plan },
    },
  })
  @Post()
  async create(@Body() body: z.input<typeof PlanRequest>, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, plan } = await this.plans.create(validatePlan(body));
    void reply.status(created ? 201 : 200);
    return present(plan);
  }

  /** New prices from an instant on (not in the past); 201, or 200 when the same version exists. */
  @ApiDoc({
    summary: 'Publish a new version of a plan',
    description: 'New prices from `effectiveFrom` on (not in the past, after the latest version’s).',
    params: planIdParam,
    body: PlanVersionRequest,
    responses: {
      201: { description: 'published', schema: Plan },
      200: { description: 'the same version already existed', schema: Plan },
    },
  })
  @Post(':id/versions')
  async revise(
    @Param('id') id: string,
    @Body() body: z.input<typeof PlanVersionRequest>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, plan } = await this.plans.revise(id, validateRevision(body));
    void reply.status(created ? 201 : 200);
    return present(plan);
  }

  @ApiDoc({
    summary: 'List price plans',
    description: 'By id, a page at a time (`next` → `after`); each plan with all its versions.',
    query: planListQuery,
    responses: { 200: { description: 'a page of plans', schema: PlanList } },
  })
  @Get()
  @ReadsFrom('invoicing_registry')
  async list(@QueryText('limit') limitText?: string, @QueryText('after') after?: string) {
    // The query's schema (planListQuery) has checked both before this runs.
    const limit = limitText === undefined ? 50 : Number(limitText);
    const { plans, next } = await this.plans.page(limit, after);
    return { plans: plans.map(present), next };
  }

  @ApiDoc({
    summary: 'A plan and its versions',
    params: planIdParam,
    responses: { 200: { description: 'the plan', schema: Plan } },
  })
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
