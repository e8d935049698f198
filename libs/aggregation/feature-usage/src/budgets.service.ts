import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Budget } from '@tally/aggregation/domain';
import { accountOpenedType } from '@tally/contracts/accounts';
import { budgetRemovedType, budgetSetType, budgetStream, meterStream } from '@tally/contracts/meters';
import { RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { DomainError } from '@tally/shared/util-core';

/** Budgets, event-sourced (`budget-{tenant}_{id}`): setting again replaces the definition; removing stops alerts. */
@Injectable()
export class BudgetsService {
  constructor(@Inject(RUNTIME) private readonly runtime: TallyRuntime) {}

  async set(budget: Budget): Promise<Budget> {
    const tenant = this.runtime.tenant;
    // The account and the meter as the ledger has them: consistent however far the read models lag.
    const [opened] = await this.runtime.eventStore.readStream(`account-${tenant}_${budget.accountId}`, { maxCount: 1 });
    if (opened?.type !== accountOpenedType)
      throw new DomainError('unknown_account', `account ${budget.accountId} does not exist`, 'accountId');
    const meterEvents = await this.runtime.eventStore.readStream(meterStream(tenant, budget.meter));
    if (meterEvents.at(-1)?.type !== 'MeterCreated')
      throw new DomainError('unknown_meter_reference', `meter ${budget.meter} does not exist`, 'meter');
    await this.runtime.eventStore.appendToStream(budgetStream(tenant, budget.budgetId), [
      { id: randomUUID(), type: budgetSetType, data: { tenant, ...budget } },
    ]);
    return budget;
  }

  async remove(budgetId: string): Promise<void> {
    const events = await this.runtime.eventStore.readStream(budgetStream(this.runtime.tenant, budgetId));
    if (events.at(-1)?.type !== budgetSetType) throw new DomainError('unknown_budget', `no budget ${budgetId}`);
    await this.runtime.eventStore.appendToStream(
      budgetStream(this.runtime.tenant, budgetId),
      [{ id: randomUUID(), type: budgetRemovedType, data: { tenant: this.runtime.tenant, budgetId } }],
      {
        expectedRevision: events.at(-1)?.streamRevision,
      },
    );
  }

  async get(budgetId: string): Promise<Budget | undefined> {
    const events = await this.runtime.eventStore.readStream(budgetStream(this.runtime.tenant, budgetId));
    const last = events.at(-1);
    if (last?.type !== budgetSetType) return undefined;
    const { tenant: _tenant, ...budget } = last.data as unknown as Budget & { tenant: string };
    return budget;
  }
}
