import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiDoc, notFound, ReadsFrom } from '@tally/shared/feature-runtime';
import {
  CostBudget,
  costBudgetIdParam,
  CostBudgetList,
  costBudgetListQuery,
  CostBudgetRequest,
  CostBudgetWithAlerts,
  defaultCostThresholds,
} from './cost-budgets.schemas';
import { CostBudgetsService, maxListedCostBudgets } from './cost-budgets.service';

type CostBudgetBody = {
  id: string;
  accountId: string;
  app?: string | null;
  limit?: string | null;
  allowances?: boolean;
  thresholds?: number[];
};

/**
 * Budgets on cost: the current period's usage rated as its invoice will be, against a limit in the account's
 * currency (the whole invoice or one app's charges), and/or each charge against its free allowance. Each threshold
 * alerts once per period: ledger, NATS (`invoicing.evt.cost-threshold-crossed.v1`), the invoice webhook.
 */
@Controller('v1/cost-budgets')
export class CostBudgetsController {
  constructor(private readonly budgets: CostBudgetsService) {}

  @ApiDoc({
    summary: 'The cost budgets, of one account or all',
    query: costBudgetListQuery,
    responses: {
      200: { description: `the cost budgets by id (at most ${maxListedCostBudgets})`, schema: CostBudgetList },
    },
  })
  @Get()
  @ReadsFrom('invoicing_registry')
  async list(@Query() params: { accountId?: string }) {
    return { items: await this.budgets.list(params.accountId) };
  }

  @ApiDoc({
    summary: 'Set a cost budget (a limit on the rated invoice, or alerts on every free allowance)',
    description:
      'Measured by every billing run (each TALLY_BILLING_INTERVAL_MS, or POST /v1/admin/billing-runs) against the ' +
      'account’s current period, rated as its invoice would be. Setting an id again replaces the definition.',
    body: CostBudgetRequest,
    responses: { 201: { description: 'the budget, set', schema: CostBudget } },
  })
  @Post()
  @HttpCode(201)
  async set(@Body() body: CostBudgetBody) {
    return this.budgets.set({
      budgetId: body.id,
      accountId: body.accountId,
      app: body.app ?? null,
      limit: body.limit ?? null,
      allowances: body.allowances ?? false,
      thresholds: body.thresholds ?? defaultCostThresholds,
    });
  }

  @ApiDoc({
    summary: 'A cost budget and its alerts',
    params: costBudgetIdParam,
    responses: { 200: { description: 'the budget and every alert it raised', schema: CostBudgetWithAlerts } },
  })
  @Get(':id')
  async get(@Param('id') id: string) {
    const budget = await this.budgets.get(id);
    if (!budget) throw notFound(`no cost budget ${id}`);
    return budget;
  }

  @ApiDoc({
    summary: 'Delete a cost budget',
    params: costBudgetIdParam,
    responses: { 204: { description: 'removed: it alerts no more' } },
  })
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    await this.budgets.remove(id);
  }
}
