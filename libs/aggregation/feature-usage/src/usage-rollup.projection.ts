import { BudgetTables, MeterHourTables, RollupTables, UsageFact } from '@tally/aggregation/data-access-rollups';
import { AccountOpenedV1, accountOpenedType, billingAnchorDayOf } from '@tally/contracts/accounts';
import { Budget, Meter } from '@tally/aggregation/domain';
import {
  budgetRemovedType,
  budgetSetType,
  MeterCreatedV1,
  meterCreatedType,
  MeterDeletedV1,
  meterDeletedType,
} from '@tally/contracts/meters';
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
export const usageRollupProjection = (
  tables: RollupTables,
  budgets?: Omit<BudgetDeps, 'rollups'>,
  hours?: MeterHourTables,
): Projection => ({
  name: 'usage_rollup',
  tables: [...RollupTables.tables, ...(budgets ? BudgetTables.tables : []), ...(hours ? MeterHourTables.tables : [])],
  eventTypes: [
    usageRecordedType,
    usageReattributedType,
    usageVoidedType,
    usageAmendedType,
    accountOpenedType,
    budgetSetType,
    budgetRemovedType,
    meterCreatedType,
    meterDeletedType,
  ],
  apply: async (tx, events) => {
    const touched = new TouchedPeriods();
    let pending: UsageFact[] = [];
    const flush = async () => {
      const fresh = new Set(await tables.add(tx, pending));
      await hours?.countNew(
        tx,
        pending.filter((f) => fresh.has(f.usageId)),
      );
      pending = [];
    };
    /** A change to facts that already count: out of the hourly buckets before, back in after. */
    const recount = async (usageIds: string[], change: () => Promise<void>) => {
      await hours?.count(tx, usageIds, -1);
      await change();
      await hours?.count(tx, usageIds, 1);
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
          const position = event.globalPosition.toString();
          if (await tables.changes(tx, usageId, position)) {
            await recount([usageId], () =>
              tables.move(
                tx,
                usageId,
                next.status === 'attributed' ? next.accountId : null,
                next.status === 'attributed' ? next.attributes : {},
                position,
              ),
            );
          }
          break;
        }
        case usageVoidedType: {
          await flush();
          const { usageId } = event.data as unknown as UsageVoidedV1;
          await hours?.count(tx, await tables.live(tx, [usageId]), -1);
          await tables.void(tx, [usageId]);
          break;
        }
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
          await tables.upsertAccount(tx, {
            tenant: a.tenant,
            accountId: a.accountId,
            timezone: a.timezone,
            currency: a.currency,
            anchorDay: billingAnchorDayOf(a),
          });
          break;
        }
        case usageAmendedType: {
          await flush();
          const { usageId, data } = event.data as unknown as UsageAmendedV1;
          const position = event.globalPosition.toString();
          if (await tables.changes(tx, usageId, position))
            await recount([usageId], () => tables.amend(tx, usageId, data, position));
          break;
        }
        case meterCreatedType: {
          await flush();
          const { tenant, createdAt: _createdAt, ...meter } = event.data as unknown as MeterCreatedV1;
          await hours?.meterCreated(tx, tenant, meter as Meter, event.globalPosition);
          break;
        }
        case meterDeletedType: {
          await flush();
          const { tenant, slug } = event.data as unknown as MeterDeletedV1;
          await hours?.meterDeleted(tx, tenant, slug, event.globalPosition);
          break;
        }
      }
    }
    await flush();
    if (budgets) await evaluateBudgets(tx, { ...budgets, rollups: tables }, touched);
  },
  acceptedAt: (event) =>
    event.type === usageRecordedType ? (event.data as unknown as UsageRecordedV1).receivedAt : undefined,
});
