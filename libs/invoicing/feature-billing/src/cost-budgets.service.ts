import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { accountStream, isAccountEvent } from '@tally/contracts/accounts';
import {
  costAlertStream,
  costBudgetStream,
  CostThresholdCrossedV1,
  costThresholdCrossedType,
  isCostAlertEvent,
} from '@tally/contracts/invoices';
import { BillingAccount, BillingRegistryTables } from '@tally/invoicing/data-access-billing';
import {
  canonicalDecimal,
  CostBudget,
  costBudgetDecider,
  costCrossings,
  invoicingRefusals,
} from '@tally/invoicing/domain';
import { aggregateStream, EventStore, handleCommand } from '@tally/shared/data-access-event-store';
import { Clock, CLOCK, EVENT_STORE, Tenancy } from '@tally/shared/feature-runtime';
import { billingPeriodAt, deterministicUuid } from '@tally/shared/util-core';
import { InvoicesService } from './invoices.service';
import { BILLING_REGISTRY_TABLES, INVOICING_DB } from './tokens';

/** The most cost budgets a listing answers. */
export const maxListedCostBudgets = 1_000;

/**
 * Cost budgets, event-sourced (`costbudget-{tenant}_{id}`), and their alerts (`costalerts-{tenant}_{id}`): each
 * billing run rates every budgeted account's current period as its invoice would be and records each threshold
 * reached for the first time, with an id from (budget, period, kind, meter, group, threshold) — so no run, retry
 * or second process ever alerts twice.
 */
@Injectable()
export class CostBudgetsService {
  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(BILLING_REGISTRY_TABLES) private readonly registry: BillingRegistryTables,
    private readonly tenancy: Tenancy,
    private readonly invoices: InvoicesService,
  ) {}

  async set(request: Omit<CostBudget, 'limit'> & { limit: string | null }): Promise<CostBudget> {
    const tenant = this.tenancy.current;
    const [opened] = await this.ledger.readStream(accountStream(tenant, request.accountId), { maxCount: 1 });
    const budget: CostBudget = { ...request, limit: request.limit === null ? null : canonicalDecimal(request.limit) };
    await handleCommand(this.ledger, costBudgetDecider, costBudgetStream(tenant, budget.budgetId), {
      type: 'SetCostBudget',
      data: { tenant, ...budget },
      metadata: { accountExists: opened !== undefined && isAccountEvent(opened) && opened.type === 'AccountOpened' },
    });
    return budget;
  }

  async remove(budgetId: string): Promise<void> {
    const tenant = this.tenancy.current;
    await handleCommand(this.ledger, costBudgetDecider, costBudgetStream(tenant, budgetId), {
      type: 'RemoveCostBudget',
      data: { tenant, budgetId },
    });
  }

  /** The budget as the ledger has it, with every alert it raised. */
  async get(budgetId: string) {
    const tenant = this.tenancy.current;
    const { state } = await aggregateStream(this.ledger, costBudgetDecider, costBudgetStream(tenant, budgetId));
    if (state.status !== 'set') return undefined;
    const alerts = (await this.ledger.readStream(costAlertStream(tenant, budgetId))).filter(isCostAlertEvent);
    return {
      ...state.budget,
      alerts: alerts.map(({ data, recordedAt }) => {
        const { tenant: _t, budgetId: _b, accountId: _a, app: _app, ...alert } = data;
        return { ...alert, at: recordedAt.toISOString() };
      }),
    };
  }

  list(accountId?: string): Promise<CostBudget[]> {
    return this.registry.costBudgets(this.db, this.tenancy.current, maxListedCostBudgets, accountId);
  }

  /**
   * Measures every cost budget of the tenant against its account's current period (the billing run calls it):
   * the alerts recorded now. An account without a running subscription has nothing to measure.
   */
  async evaluate(): Promise<number> {
    const tenant = this.tenancy.current;
    const budgets = await this.registry.costBudgets(this.db, tenant, Number.MAX_SAFE_INTEGER);
    const byAccount = new Map<string, CostBudget[]>();
    for (const budget of budgets) byAccount.set(budget.accountId, [...(byAccount.get(budget.accountId) ?? []), budget]);
    let recorded = 0;
    let failed: unknown;
    for (const [accountId, list] of byAccount) {
      // One account's failure (usage unavailable for it) leaves the others measured; the run reports it after.
      try {
        recorded += await this.evaluateAccount(tenant, accountId, list);
      } catch (error) {
        failed ??= error;
      }
    }
    if (failed !== undefined) throw failed;
    return recorded;
  }

  /**
   * The account's current period, and the one before while its invoice is in its grace period: usage of a
   * period's last hours, or late usage, can still cross a threshold of that period after it has ended.
   */
  private async evaluateAccount(tenant: string, accountId: string, list: CostBudget[]): Promise<number> {
    let context: Awaited<ReturnType<InvoicesService['billingContext']>>;
    try {
      context = await this.invoices.billingContext(accountId);
    } catch (error) {
      if (invoicingRefusals.is(error, 'no_active_subscription') || invoicingRefusals.is(error, 'account_not_found'))
        return 0;
      throw error;
    }
    const { account, subscription, plans } = context;
    const now = this.clock();
    const current = billingPeriodAt(now, account.timezone, account.anchorDay);
    const previous = billingPeriodAt(new Date(Date.parse(current.start) - 1), account.timezone, account.anchorDay);
    const periods = [
      ...(Date.parse(previous.end) > Date.parse(subscription.startsAt) &&
      now.getTime() < Date.parse(this.invoices.finalizesAt(previous))
        ? [previous]
        : []),
      current,
    ];
    const chargesOf = (line: { segment: { planId: string; planVersion: number } }) =>
      plans.get(line.segment.planId)?.versions.find((v) => v.version === line.segment.planVersion)?.charges ?? [];
    let recorded = 0;
    for (const period of periods) {
      const { lines } = await this.invoices.content(account, subscription, period, plans);
      for (const budget of list)
        recorded += await this.record(tenant, account, budget, period.label, costCrossings(budget, lines, chargesOf));
    }
    return recorded;
  }

  private async record(
    tenant: string,
    account: BillingAccount,
    budget: CostBudget,
    period: string,
    crossings: ReturnType<typeof costCrossings>,
  ): Promise<number> {
    if (crossings.length === 0) return 0;
    const stream = costAlertStream(tenant, budget.budgetId);
    const known = new Set((await this.ledger.readStream(stream)).map((e) => e.id));
    const fresh = crossings
      .map((crossing) => {
        const data: CostThresholdCrossedV1 = {
          tenant,
          budgetId: budget.budgetId,
          accountId: budget.accountId,
          app: budget.app,
          period,
          currency: account.currency,
          ...crossing,
        };
        // The definition is part of the id: a budget set again (another limit, account or thresholds) alerts afresh.
        const id = deterministicUuid(
          'tally.cost-threshold-crossed.v1',
          tenant,
          budget.budgetId,
          JSON.stringify(budget),
          period,
          crossing.kind,
          crossing.segmentFrom ?? '',
          crossing.meter ?? '',
          crossing.perValue ?? '',
          String(crossing.threshold),
        );
        return { id, type: costThresholdCrossedType, data: { ...data } };
      })
      // Unknown ids once each (two crossings never share one, but a duplicate id in one append would fail it).
      .filter((event) => !known.has(event.id) && (known.add(event.id), true));
    // Appends are idempotent by event id: a run that races another (or retries) writes each alert once.
    if (fresh.length > 0) await this.ledger.appendToStream(stream, fresh, { expectedRevision: 'any' });
    return fresh.length;
  }
}
