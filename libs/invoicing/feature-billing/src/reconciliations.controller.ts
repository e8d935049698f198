import { Body, Controller, Get, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiDoc, badRequest, QueryText, z } from '@tally/shared/feature-runtime';
import { isUuid } from '@tally/shared/util-core';
import { ReconciliationRow } from '@tally/invoicing/data-access-billing';
import {
  Reconciliation,
  ReconciliationList,
  reconciliationListQuery,
  ReconciliationRequest,
  ReconciliationStarted,
  uuidIdParam,
} from './billing.schemas';
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
    summary: 'List reconciliations',
    description: 'Newest first, a page at a time (`next` → `before`); each without its drifts, with their number.',
    query: reconciliationListQuery,
    responses: { 200: { description: 'a page of reconciliations', schema: ReconciliationList } },
  })
  @Get()
  async list(@QueryText('limit') limitText?: string, @QueryText('before') before?: string) {
    // The query's schema (reconciliationListQuery) has checked both before this runs.
    const limit = limitText === undefined ? 20 : Number(limitText);
    const rows = await this.reconciliations.newest(limit + 1, before);
    if (!rows)
      throw badRequest('before names no reconciliation of this tenant', [
        { field: 'before', message: `no reconciliation ${before}: give the \`next\` of a previous page` },
      ]);
    const page = rows.slice(0, limit);
    return {
      reconciliations: page.map(({ driftCount, ...row }) => ({ ...present(row), driftCount })),
      next: rows.length > limit ? page[page.length - 1].reconciliationId : null,
    };
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
    return present(row);
  }
}

/** The report as answered: its row's fields and whatever the report holds (counts, drifts, or the error). */
const present = (row: ReconciliationRow) => ({
  id: row.reconciliationId,
  period: row.period,
  status: row.status,
  requestedAt: row.requestedAt,
  completedAt: row.completedAt,
  ...(row.report ?? {}),
});
