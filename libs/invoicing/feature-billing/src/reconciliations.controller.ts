import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiDoc, z } from '@tally/shared/feature-runtime';
import { isUuid } from '@tally/shared/util-core';
import { Reconciliation, ReconciliationRequest, ReconciliationStarted, uuidIdParam } from './billing.schemas';
import { ReconciliationService } from './reconciliation.service';
import { refuse } from '@tally/invoicing/domain';

@Controller('v1/reconciliations')
export class ReconciliationsController {
  constructor(private readonly reconciliations: ReconciliationService) {}

  /** 202: the reconciliation runs in the background; poll its Location until status is completed. */
  @ApiDoc({
    summary: 'Reconcile invoices against a replay of the ledger',
    description:
      'Compares the ledger, the rollups and the finalized invoices for a period, in the background: poll the Location until its status is completed.',
    body: ReconciliationRequest,
    responses: { 202: { description: 'started; poll the Location', schema: ReconciliationStarted } },
  })
  @Post()
  async start(@Body() body: z.input<typeof ReconciliationRequest>, @Res({ passthrough: true }) reply: FastifyReply) {
    // The body's schema (ReconciliationRequest) has checked the period before this runs.
    const { period } = body;
    const id = await this.reconciliations.start(period);
    void reply.status(202).header('location', `/v1/reconciliations/${id}`);
    return { id, period, status: 'running' };
  }

  @ApiDoc({
    summary: 'A reconciliation report',
    params: uuidIdParam,
    responses: { 200: { description: 'the report (its counts and drifts once completed)', schema: Reconciliation } },
  })
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
