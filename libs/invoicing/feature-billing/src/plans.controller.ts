import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { badRequest, notFound, ProblemError } from '@tally/shared/feature-runtime';
import { PlansService } from './plans.service';

const keyPattern = /^[A-Za-z0-9][A-Za-z0-9.:@+-]{0,127}$/;

const validatePlan = (input: unknown) => {
  const errors: ProblemError[] = [];
  const body = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : {}) as Record<string, unknown>;
  if (body !== input) errors.push({ field: '', message: 'the body must be a JSON object' });
  const { id, name, currency } = body;
  if (typeof id !== 'string' || !keyPattern.test(id)) errors.push({ field: 'id', message: 'id must be 1–128 characters: letters, digits and . : @ + -' });
  if (typeof name !== 'string' || name.trim() === '' || name.length > 200) errors.push({ field: 'name', message: 'name is required: 1–200 characters' });
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) errors.push({ field: 'currency', message: 'currency must be an ISO 4217 code such as USD or EUR' });
  if (errors.length > 0) throw badRequest('the plan is invalid', errors);
  return { planId: id as string, name: (name as string).trim(), currency: currency as string };
};

@Controller('v1/plans')
export class PlansController {
  constructor(private readonly plans: PlansService) {}

  /** 201 when created, 200 when the same plan already existed, 409 when the id is taken by another. */
  @Post()
  async create(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, plan } = await this.plans.create(validatePlan(body));
    void reply.status(created ? 201 : 200);
    return present(plan);
  }

  @Get(':id')
  async plan(@Param('id') id: string) {
    const plan = await this.plans.plan(id);
    if (!plan) throw notFound(`no plan ${id}`);
    return present(plan);
  }
}

const present = (p: { planId: string; name: string; currency: string; createdAt: string }) => ({ id: p.planId, name: p.name, currency: p.currency, createdAt: p.createdAt });
