import { Inject, Injectable } from '@nestjs/common';
import { Budget, budgetDecider, meterDecider } from '@tally/aggregation/domain';
import { accountStream, isAccountEvent } from '@tally/contracts/accounts';
import { budgetStream, meterStream } from '@tally/contracts/meters';
import { aggregateStream, EventStore, handleCommand } from '@tally/shared/data-access-event-store';
import { EVENT_STORE, Tenancy } from '@tally/shared/feature-runtime';

/** Budgets, event-sourced (`budget-{tenant}_{id}`): setting again replaces the definition; removing stops alerts. */
@Injectable()
export class BudgetsService {
  constructor(
    @Inject(EVENT_STORE) private readonly ledger: EventStore,
    private readonly tenancy: Tenancy,
  ) {}

  async set(budget: Budget): Promise<Budget> {
    const tenant = this.tenancy.current;
    const store = this.ledger;
    // The account and the meter as the ledger has them: consistent however far the read models lag.
    const [opened] = await store.readStream(accountStream(tenant, budget.accountId), { maxCount: 1 });
    const meter = await aggregateStream(store, meterDecider, meterStream(tenant, budget.meter));
    await handleCommand(store, budgetDecider, budgetStream(tenant, budget.budgetId), {
      type: 'SetBudget',
      data: { tenant, ...budget },
      metadata: {
        accountExists: opened !== undefined && isAccountEvent(opened) && opened.type === 'AccountOpened',
        meterExists: meter.state.status === 'active',
      },
    });
    return budget;
  }

  async remove(budgetId: string): Promise<void> {
    const tenant = this.tenancy.current;
    await handleCommand(this.ledger, budgetDecider, budgetStream(tenant, budgetId), {
      type: 'RemoveBudget',
      data: { tenant, budgetId },
    });
  }

  async get(budgetId: string): Promise<Budget | undefined> {
    const { state } = await aggregateStream(this.ledger, budgetDecider, budgetStream(this.tenancy.current, budgetId));
    return state.status === 'set' ? state.budget : undefined;
  }
}
