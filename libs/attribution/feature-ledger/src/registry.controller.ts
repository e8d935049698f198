import { Body, Controller, Get, Param, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { badRequest, notFound } from '@tally/shared/feature-runtime';
import { RegistryService } from './registry.service';
import { validateAccount, validateAssignment } from './registry.validation';

@Controller('v1')
export class RegistryController {
  constructor(private readonly registry: RegistryService) {}

  /** 201 when opened, 200 when the same account already existed (safe retry), 409 when it exists with other details. */
  @Post('accounts')
  async openAccount(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { errors, value } = validateAccount(body);
    if (errors.length > 0) throw badRequest('the account is invalid', errors);
    const { created, account } = await this.registry.openAccount(value);
    void reply.status(created ? 201 : 200);
    return account;
  }

  @Get('accounts/:id')
  async account(@Param('id') id: string) {
    return (await this.registry.account(id)) ?? notFoundOf('account', id);
  }

  /** Assigns the subject (who emits usage) to an account from `effectiveFrom` on; history is kept. */
  @Put('subjects/:key')
  async assignSubject(@Param('key') key: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const { errors, value } = validateAssignment(key, body);
    if (errors.length > 0) throw badRequest('the subject assignment is invalid', errors);
    const { created, subject } = await this.registry.assignSubject(key, value);
    void reply.status(created ? 201 : 200);
    return subject;
  }

  @Get('subjects/:key')
  async subject(@Param('key') key: string) {
    return (await this.registry.subject(key)) ?? notFoundOf('subject', key);
  }
}

const notFoundOf = (what: string, id: string): never => {
  throw notFound(`no ${what} ${id}`);
};
