import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { validateBudget } from '@tally/aggregation/domain';
import { BudgetTables } from '@tally/aggregation/data-access-usage';
import { ApiDoc, badRequest, notFound, ReadsFrom, Tenancy } from '@tally/shared/feature-runtime';
import { BudgetsService } from './budgets.service';
import { AGGREGATION_DB, BUDGET_TABLES } from './tokens';
import { Budget, BudgetList, budgetListQuery, BudgetRequest, budgetIdParam, maxListedBudgets } from './usage.schemas';

/**
 * Budgets on an account's usage of a meter per billing period, optionally for one app; thresholds in
 * percent (default 50, 75, 90, 100). Each threshold alerts once per period: ledger, NATS, webhook.
 */
@Controller('v1/budgets')
export class BudgetsController {
  constructor(
    private readonly budgets: BudgetsService,
    private readonly tenancy: Tenancy,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(BUDGET_TABLES) private readonly tables: BudgetTables,
  ) {}

  @ApiDoc({
    summary: 'The budgets, of one account or all',
    query: budgetListQuery,
    responses: { 200: { description: `the budgets by id (at most ${maxListedBudgets})`, schema: BudgetList } },
  })
  @Get()
  @ReadsFrom('aggregation_usage_rollup')
  async list(@Query() params: { accountId?: string }) {
    const tenant = this.tenancy.current;
    const items = params.accountId
      ? await this.tables.ofAccount(this.db, tenant, params.accountId)
      : await this.tables.all(this.db, tenant, maxListedBudgets);
    return { items };
  }

  @ApiDoc({
    summary: 'Set a usage budget with alert thresholds',
    body: BudgetRequest,
    responses: { 201: { description: 'the budget, set (setting it again replaces it)', schema: Budget } },
  })
  @Post()
  @HttpCode(201)
  async set(@Body() body: unknown) {
    const checked = validateBudget(body);
    if (!checked.ok) throw badRequest('the budget is invalid', checked.errors);
    return this.budgets.set(checked.budget);
  }

  @ApiDoc({
    summary: 'A budget and its alerts',
    params: budgetIdParam,
    responses: { 200: { description: 'the budget', schema: Budget } },
  })
  @Get(':id')
  @ReadsFrom('aggregation_usage_rollup')
  async get(@Param('id') id: string) {
    const budget = await this.budgets.get(id);
    if (!budget) throw notFound(`no budget ${id}`);
    return budget;
  }

  @ApiDoc({
    summary: 'Delete a budget',
    params: budgetIdParam,
    responses: { 204: { description: 'removed: it alerts no more' } },
  })
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string): Promise<void> {
    await this.budgets.remove(id);
  }
}
