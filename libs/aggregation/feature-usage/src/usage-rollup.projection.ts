import { RollupTables, UsageFact } from '@tally/aggregation/data-access-rollups';
import { AccountOpenedV1, accountOpenedType } from '@tally/contracts/accounts';
import { Budget } from '@tally/aggregation/domain';
import { budgetRemovedType, budgetSetType } from '@tally/contracts/meters';
import { BudgetDeps, evaluateBudgets, TouchedPeriods } from './budget-evaluator';
import {
  UsageAmendedV1,
  usageAmendedType,
  UsageReattributedV1,
  usageReattributedType,
  UsageRecordedV1,
  usageRecordedType,
  UsageVoidedV1,
  usageVoidedType,
} from '@tally/contracts/usage';
import { RecordedEvent } from '@tally/shared/data-access-event-store';
import { Projection } from '@tally/shared/data-access-postgres';

/** The fact a UsageRecorded adds: counted for its account, or kept uncounted while parked. */
export const usageFactOf = (event: RecordedEvent): UsageFact => {
  const u = event.data as unknown as UsageRecordedV1;
  return {
    usageId: u.usageId,
    tenant: u.tenant,
    accountId: u.attribution.status === 'attributed' ? u.attribution.accountId : null,
    subject: u.subject,
    eventType: u.eventType,
    time: u.time,
    position: event.globalPosition.toString(),
    data: u.data,
    attributes: u.attribution.status === 'attributed' ? u.attribution.attributes : {},
  };
};

/**
 * Applied in ledger order: consecutive UsageRecorded are added in one statement; a move
 * (UsageReattributed) or a void first flushes what came before it. Each fact carries the position of
 * its last change, so "recorded, moved, moved back" replayed in any batch split ends where it should.
 */
export const usageRollupProjection = (tables: RollupTables, budgets?: Omit<BudgetDeps, 'rollups'>): Projection => ({
  name: 'usage_rollup',
  eventTypes: [usageRecordedType, usageReattributedType, usageVoidedType, usageAmendedType, accountOpenedType, budgetSetType, budgetRemovedType],
  apply: async (tx, events) => {
    const touched = new TouchedPeriods();
    let pending: UsageFact[] = [];
    const flush = async () => {
      await tables.add(tx, pending);
      pending = [];
    };
    for (const event of events) {
      switch (event.type) {
        case usageRecordedType: {
          const fact = usageFactOf(event);
          pending.push(fact);
          touched.add(fact.tenant, fact.accountId, fact.time);
          break;
        }
        case usageReattributedType: {
          await flush();
          const { tenant, usageId, next, time } = event.data as unknown as UsageReattributedV1;
          if (next.status === 'attributed') touched.add(tenant, next.accountId, time);
          await tables.move(tx, usageId, next.status === 'attributed' ? next.accountId : null, next.status === 'attributed' ? next.attributes : {}, event.globalPosition.toString());
          break;
        }
        case usageVoidedType:
          await flush();
          await tables.void(tx, [(event.data as unknown as UsageVoidedV1).usageId]);
          break;
        case budgetSetType: {
          const { tenant, ...budget } = event.data as unknown as Budget & { tenant: string };
          await budgets?.budgets.set(tx, tenant, budget, event.globalPosition);
          touched.add(tenant, budget.accountId, event.recordedAt.toISOString());
          break;
        }
        case budgetRemovedType: {
          const { tenant, budgetId } = event.data as unknown as { tenant: string; budgetId: string };
          await budgets?.budgets.remove(tx, tenant, budgetId, event.globalPosition);
          break;
        }
        case accountOpenedType: {
          const a = event.data as unknown as AccountOpenedV1;
          await tables.upsertAccount(tx, a.tenant, a.accountId, a.timezone, a.currency);
          break;
        }
        case usageAmendedType: {
          await flush();
          const { usageId, data } = event.data as unknown as UsageAmendedV1;
          await tables.amend(tx, usageId, data, event.globalPosition.toString());
          break;
        }
      }
    }
    await flush();
    if (budgets) await evaluateBudgets(tx, { ...budgets, rollups: tables }, touched);
  },
  reset: async (tx) => {
    await tables.reset(tx);
    await budgets?.budgets.reset(tx);
  },
  acceptedAt: (event) => (event.type === usageRecordedType ? (event.data as unknown as UsageRecordedV1).receivedAt : undefined),
});
