import { Body, Controller, Get, Param, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiDoc, badRequest, notFound, ProblemError, ReadsFrom } from '@tally/shared/feature-runtime';
import {
  Account,
  AccountRequest,
  Assignment,
  Cancellation,
  idParam,
  keyParam,
  PlanChange,
  Reschedule,
  Subject,
  SubjectCorrection,
  Subscription,
  SubscriptionRequest,
} from './registry.schemas';
import { RegistryService } from './registry.service';
import {
  validateAccount,
  validateAssignment,
  validateCancellation,
  validatePlanChange,
  validateReschedule,
  validateSubjectCorrection,
  validateSubscription,
} from './registry.validation';

const valid = <T>({ errors, value }: { errors: ProblemError[]; value: T }, what: string): T => {
  if (errors.length > 0) throw badRequest(`the ${what} is invalid`, errors);
  return value;
};

const found = <T>(value: T | undefined, what: string): T => {
  if (value === undefined) throw notFound(`no ${what}`);
  return value;
};

/**
 * The registry's admin endpoints. Creating answers 201, repeating the same request 200 (safe retries);
 * conflicts are 409, references to what does not exist 422, malformed bodies 400 — and change nothing.
 */
@Controller('v1')
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  @ApiDoc({
    summary: 'Open an account',
    body: AccountRequest,
    responses: {
      201: { description: 'opened', schema: Account },
      200: { description: 'already open with the same details', schema: Account },
    },
  })
  @Post('accounts')
  async openAccount(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, account } = await this.registry.openAccount(valid(validateAccount(body), 'account'));
    void reply.status(created ? 201 : 200);
    return account;
  }

  @ApiDoc({
    summary: 'An account and its subscriptions',
    params: idParam,
    responses: { 200: { description: 'the account', schema: Account } },
  })
  @Get('accounts/:id')
  @ReadsFrom('attribution_registry')
  async account(@Param('id') id: string) {
    return found(await this.registry.account(id), `account ${id}`);
  }

  @ApiDoc({
    summary: 'Start a subscription of an account to a plan',
    body: SubscriptionRequest,
    responses: {
      201: { description: 'started', schema: Subscription },
      200: { description: 'already started with the same details', schema: Subscription },
    },
  })
  @Post('subscriptions')
  async startSubscription(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { created, subscription } = await this.registry.startSubscription(
      valid(validateSubscription(body), 'subscription'),
    );
    void reply.status(created ? 201 : 200);
    return subscription;
  }

  @ApiDoc({
    summary: 'A subscription',
    params: idParam,
    responses: { 200: { description: 'the subscription', schema: Subscription } },
  })
  @Get('subscriptions/:id')
  @ReadsFrom('attribution_registry')
  async subscription(@Param('id') id: string) {
    return found(await this.registry.subscription(id), `subscription ${id}`);
  }

  /** Ends the subscription at `at` (not later than it was due to end). */
  @ApiDoc({
    summary: 'Cancel a subscription',
    params: idParam,
    body: Cancellation,
    responses: { 201: { description: 'cancelled', schema: Subscription } },
  })
  @Post('subscriptions/:id/cancel')
  async cancel(@Param('id') id: string, @Body() body: unknown) {
    return this.registry.cancelSubscription(id, valid(validateCancellation(body), 'cancellation'));
  }

  /** From `effectiveFrom` on, usage is rated on `planId`. */
  @ApiDoc({
    summary: 'Change the plan of a subscription from a date',
    params: idParam,
    body: PlanChange,
    responses: { 201: { description: 'changed', schema: Subscription } },
  })
  @Post('subscriptions/:id/plan-changes')
  async changePlan(@Param('id') id: string, @Body() body: unknown) {
    return this.registry.changePlan(id, valid(validatePlanChange(body), 'plan change'));
  }

  /** Moves the start (e.g. earlier, to cover usage already parked), with a reason. */
  @ApiDoc({
    summary: 'Move the start or end of a subscription',
    params: idParam,
    body: Reschedule,
    responses: { 201: { description: 'moved', schema: Subscription } },
  })
  @Post('subscriptions/:id/reschedule')
  async reschedule(@Param('id') id: string, @Body() body: unknown) {
    return this.registry.rescheduleSubscription(id, valid(validateReschedule(body), 'reschedule'));
  }

  /** Assigns the subject (who emits usage) to an account from `effectiveFrom` on; history is kept. */
  @ApiDoc({
    summary: 'Attribute a subject (an installation, a workspace) to an account',
    params: keyParam,
    body: Assignment,
    responses: {
      201: { description: 'assigned', schema: Subject },
      200: { description: 'no change', schema: Subject },
    },
  })
  @Put('subjects/:key')
  async assignSubject(
    @Param('key') key: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, subject } = await this.registry.assignSubject(
      key,
      valid(validateAssignment(key, body), 'subject assignment'),
    );
    void reply.status(created ? 201 : 200);
    return subject;
  }

  /**
   * Rewrites who owned the subject in [effectiveFrom, effectiveTo) — "it was B's since the 3rd, not A's" —
   * with a reason. Usage already attributed moves by compensating ledger events; nothing is edited.
   */
  @ApiDoc({
    summary: 'Correct the history of a subject’s attribution',
    params: keyParam,
    body: SubjectCorrection,
    responses: {
      201: { description: 'corrected', schema: Subject },
      200: { description: 'no change', schema: Subject },
    },
  })
  @Post('subjects/:key/corrections')
  async correctSubject(
    @Param('key') key: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const { created, subject } = await this.registry.correctSubject(
      key,
      valid(validateSubjectCorrection(key, body), 'correction'),
    );
    void reply.status(created ? 201 : 200);
    return subject;
  }

  @ApiDoc({
    summary: 'A subject and its attribution timeline',
    params: keyParam,
    responses: { 200: { description: 'the subject', schema: Subject } },
  })
  @Get('subjects/:key')
  @ReadsFrom('attribution_registry')
  async subject(@Param('key') key: string) {
    return found(await this.registry.subject(key), `subject ${key}`);
  }
}
