import { Body, Controller, Get, Inject, Param, Post } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { InvoiceTables } from '@tally/invoicing/data-access-billing';
import {
  ApiDoc,
  CLOCK,
  Clock,
  notFound,
  ProblemException,
  problemType,
  QueryText,
  ReadsFrom,
  Tenancy,
  z,
} from '@tally/shared/feature-runtime';
import { billingPeriodAt, isUuid } from '@tally/shared/util-core';
import {
  accountIdParam,
  accountQuery,
  BillingRun,
  BillingRunList,
  billingRunListQuery,
  CreditNote,
  CreditNoteList,
  Invoice,
  InvoiceList,
  invoiceListQuery,
  UpcomingInvoice,
  uuidIdParam,
  VoidRequest,
} from './billing.schemas';
import { BillingRunHistory } from './billing-run-history';
import { BillingScheduler } from './billing-scheduler';
import { InvoicesService } from './invoices.service';
import { INVOICE_TABLES, INVOICING_DB } from './tokens';

@Controller()
export class InvoicesController {
  constructor(
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly tenancy: Tenancy,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(INVOICE_TABLES) private readonly tables: InvoiceTables,
    private readonly invoices: InvoicesService,
    private readonly scheduler: BillingScheduler,
    private readonly history: BillingRunHistory,
  ) {}

  /** The invoice the running subscription's current period would get now: rated live from current usage. */
  @ApiDoc({
    summary: 'The invoice an account would get for the current period, now',
    description: 'The running subscription’s current period, rated live from current usage.',
    params: accountIdParam,
    responses: { 200: { description: 'the upcoming invoice', schema: UpcomingInvoice } },
  })
  @Get('v1/accounts/:id/upcoming-invoice')
  async upcoming(@Param('id') accountId: string) {
    const { account, subscription, plans } = await this.invoices.billingContext(accountId);
    const now = this.clock();
    const period = billingPeriodAt(now, account.timezone, account.anchorDay);
    const {
      credits,
      earlierOpen: _open,
      ...content
    } = await this.invoices.content(account, subscription, period, plans);
    const projection = await this.invoices.projection(account, subscription, period, plans, content.lines);
    return {
      status: 'upcoming',
      invoiceId: this.invoices.invoiceIdFor(subscription.subscriptionId, period),
      accountId,
      subscriptionId: subscription.subscriptionId,
      currency: account.currency,
      period,
      ...content,
      pendingCreditNotes: credits.map((c) => ({
        invoiceId: c.invoice.invoiceId,
        period: c.invoice.period.label,
        lines: c.lines,
      })),
      ratedAt: now.toISOString(),
      projection: { to: period.end, ...projection },
    };
  }

  @ApiDoc({
    summary: 'List invoices',
    query: invoiceListQuery,
    responses: {
      200: { description: 'the account’s invoices, oldest period first (`order=desc`: newest)', schema: InvoiceList },
    },
  })
  @Get('v1/invoices')
  @ReadsFrom('invoicing_invoices')
  async list(@QueryText('accountId') accountId: string, @QueryText('order') order?: 'asc' | 'desc') {
    // The query's schema (invoiceListQuery) has checked accountId and order before this runs.
    const rows = await this.tables.byAccount(this.db, this.tenancy.current, accountId, order);
    return { accountId, invoices: rows.map((r) => r.document) };
  }

  /** Straight from the invoice's ledger stream: never behind. */
  @ApiDoc({
    summary: 'An invoice',
    params: uuidIdParam,
    responses: { 200: { description: 'the invoice, folded from its ledger stream', schema: Invoice } },
  })
  @Get('v1/invoices/:id')
  @ReadsFrom('invoicing_invoices')
  async invoice(@Param('id') id: string) {
    const state = isUuid(id) ? await this.invoices.state(id) : undefined;
    if (!state || state.status === 'none') throw notFound(`no invoice ${id}`);
    return state.document;
  }

  @ApiDoc({
    summary: 'Finalize a draft invoice',
    description: 'Before its grace period ends: re-rated one last time; earlier periods’ invoices first.',
    params: uuidIdParam,
    responses: { 201: { description: 'finalized', schema: Invoice } },
  })
  @Post('v1/invoices/:id/finalize')
  finalize(@Param('id') id: string) {
    if (!isUuid(id)) throw notFound(`no invoice ${id}`);
    return this.invoices.finalize(id);
  }

  @ApiDoc({
    summary: 'Void an invoice (with a credit note)',
    description: 'A draft or a final invoice; it stays the period’s invoice.',
    params: uuidIdParam,
    body: VoidRequest,
    responses: { 201: { description: 'voided', schema: Invoice } },
  })
  @Post('v1/invoices/:id/void')
  void(@Param('id') id: string, @Body() body: z.input<typeof VoidRequest>) {
    if (!isUuid(id)) throw notFound(`no invoice ${id}`);
    // The body's schema (VoidRequest) has checked the reason before this runs.
    return this.invoices.void(id, body.reason.trim());
  }

  @ApiDoc({
    summary: 'List credit notes',
    query: accountQuery,
    responses: { 200: { description: 'the account’s credit notes, oldest first', schema: CreditNoteList } },
  })
  @Get('v1/credit-notes')
  @ReadsFrom('invoicing_invoices')
  async creditNotes(@QueryText('accountId') accountId: string) {
    // The query's schema (accountQuery) has checked accountId before this runs.
    return { accountId, creditNotes: await this.tables.creditNotes(this.db, this.tenancy.current, { accountId }) };
  }

  @ApiDoc({
    summary: 'A credit note',
    params: uuidIdParam,
    responses: { 200: { description: 'the credit note', schema: CreditNote } },
  })
  @Get('v1/credit-notes/:id')
  @ReadsFrom('invoicing_invoices')
  async creditNote(@Param('id') id: string) {
    const [note] = isUuid(id) ? await this.tables.creditNotes(this.db, this.tenancy.current, { creditNoteId: id }) : [];
    if (!note) throw notFound(`no credit note ${id}`);
    return note;
  }

  /** Runs the billing pass now (it also runs every TALLY_BILLING_INTERVAL_MS); 409 when another process is running it. */
  @ApiDoc({
    summary: 'Run billing now (for the caller’s tenant)',
    description: 'Drafts ended periods’ invoices, re-rates drafts, finalizes those past their grace period.',
    responses: { 201: { description: 'what the run did', schema: BillingRun } },
  })
  @Post('v1/admin/billing-runs')
  async billingRun() {
    const summary = await this.scheduler.run();
    if (!summary)
      throw new ProblemException({
        type: problemType('billing-run-busy'),
        title: 'Billing run busy',
        status: 409,
        detail: 'another process is running billing right now; try again shortly',
      });
    return summary;
  }

  @ApiDoc({
    summary: 'The billing runs’ history (the caller’s tenant)',
    description:
      'Each run’s summary, scheduled or asked for, newest first. Recorded on the side of the run: a record that could not be written (Postgres away) is missing, never the run.',
    query: billingRunListQuery,
    responses: { 200: { description: 'the newest runs first', schema: BillingRunList } },
  })
  @Get('v1/admin/billing-runs')
  async billingRuns(@QueryText('limit') limitText?: string) {
    // The query's schema (billingRunListQuery) has checked the limit before this runs.
    const limit = limitText === undefined ? 20 : Number(limitText);
    const runs = await this.history.newest(this.tenancy.current, limit);
    return {
      runs: runs.map(({ outcome, ...run }) => ({
        tenant: run.tenant,
        trigger: run.trigger,
        ...outcome,
        costAlerts: run.costAlerts,
        startedAt: run.startedAt,
        durationMs: run.durationMs,
        error: run.error,
      })),
    };
  }
}
