import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiDoc, badRequest } from '@tally/shared/feature-runtime';
import { isPeriodLabel, isUuid } from '@tally/shared/util-core';
import { ReconciliationService } from './reconciliation.service';
import { refuse } from '@tally/invoicing/domain';

@Controller('v1/reconciliations')
export class ReconciliationsController {
  constructor(private readonly reconciliations: ReconciliationService) {}

  /** 202: the reconciliation runs in the background; poll its Location until status is completed. */
  @ApiDoc({ summary: 'Reconcile invoices against a replay of the ledger' })
  @Post()
  async start(@Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply) {
    const period = (body as { period?: unknown } | undefined)?.period;
    if (typeof period !== 'string' || !isPeriodLabel(period))
      throw badRequest('period is required', [
        {
          field: 'period',
          message: "period must be a billing period YYYY-MM (the month each account's period starts in)",
        },
      ]);
    const id = await this.reconciliations.start(period);
    void reply.status(202).header('location', `/v1/reconciliations/${id}`);
    return { id, period, status: 'running' };
  }

  @ApiDoc({ summary: 'A reconciliation report' })
  @Get(':id')
  async get(@Param('id') id: string) {
    const row = isUuid(id) ? await this.reconciliations.get(id) : undefined;
    if (!row) refuse('unknown_reconciliation', `no reconciliation ${id}`);
    return {
      id: row.reconciliationId,
      period: row.period,
      status: row.status,
      requestedAt: row.requestedAt,
      completedAt: row.completedAt,
      ...(row.report ?? {}),
    };
  }
}
