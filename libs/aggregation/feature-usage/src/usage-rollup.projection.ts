import { BudgetTables, MeterHourTables, RollupTables, UsageFact } from '@tally/aggregation/data-access-usage';
import { AccountOpened, billingAnchorDayOf } from '@tally/contracts/accounts';
import { BudgetEvent, MeterEvent } from '@tally/contracts/meters';
import { UsageLedgerEvent, UsageRecorded } from '@tally/contracts/usage';
import { RecordedEvent } from '@tally/shared/data-access-event-store';
import { Projection } from '@tally/shared/data-access-postgres';
import { eventsOf, unhandledEvent } from '@tally/shared/util-core';
import { BudgetDeps, evaluateBudgets, TouchedPeriods } from './budget-evaluator';

/** What the rollups follow: usage and its corrections, accounts (their zones), budgets and meters. */
export type UsageRollupEvent = UsageLedgerEvent | AccountOpened | BudgetEvent | MeterEvent;
const usageRollupEvents = eventsOf<UsageRollupEvent>({
  UsageRecorded: true,
  UsageReattributed: true,
  UsageVoided: true,
  UsageAmended: true,
  AccountOpened: true,
  BudgetSet: true,
  BudgetRemoved: true,
  MeterCreated: true,
  MeterUpdated: true,
  MeterDeleted: true,
});

/** The fact a UsageRecorded adds: counted for its account, or kept uncounted while parked. */
export const usageFactOf = (event: RecordedEvent<UsageRecorded>): UsageFact => {
  const u = event.data;
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
): Projection<UsageRollupEvent> => {
  /** Until seen done: the marks of usage changes start with the first batch this code ever applies. */
  let marking = false;
  return {
    name: 'aggregation_usage_rollup',
    formerNames: ['usage_rollup'],
    tables: [...RollupTables.tables, ...(budgets ? BudgetTables.tables : []), ...(hours ? MeterHourTables.tables : [])],
    eventTypes: usageRollupEvents.types,
    apply: async (tx, events) => {
      if (!marking && events.length > 0) marking = await tables.startMarking(tx, events[0].globalPosition);
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
          case 'UsageRecorded': {
            const fact = usageFactOf(event);
            pending.push(fact);
            touched.add(fact.tenant, fact.accountId, fact.time);
            break;
          }
          case 'UsageReattributed': {
            await flush();
            const { tenant, usageId, next, time } = event.data;
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
          case 'UsageVoided': {
            await flush();
            const { usageId } = event.data;
            await hours?.count(tx, await tables.live(tx, [usageId]), -1);
            await tables.void(tx, [usageId], event.globalPosition.toString());
            break;
          }
          case 'BudgetSet': {
            const { tenant, ...budget } = event.data;
            await budgets?.budgets.set(tx, tenant, budget, event.globalPosition);
            touched.add(tenant, budget.accountId, event.recordedAt.toISOString());
            break;
          }
          case 'BudgetRemoved': {
            const { tenant, budgetId } = event.data;
            await budgets?.budgets.remove(tx, tenant, budgetId, event.globalPosition);
            break;
          }
          case 'AccountOpened': {
            const a = event.data;
            await tables.upsertAccount(tx, {
              tenant: a.tenant,
              accountId: a.accountId,
              timezone: a.timezone,
              currency: a.currency,
              anchorDay: billingAnchorDayOf(a),
            });
            break;
          }
          case 'UsageAmended': {
            await flush();
            const { usageId, data } = event.data;
            const position = event.globalPosition.toString();
            if (await tables.changes(tx, usageId, position))
              await recount([usageId], () => tables.amend(tx, usageId, data, position));
            break;
          }
          case 'MeterCreated': {
            await flush();
            const { tenant, createdAt: _createdAt, ...meter } = event.data;
            await hours?.meterCreated(tx, tenant, meter, event.globalPosition);
            break;
          }
          case 'MeterUpdated': {
            // New group-by keys: the meter's hourly buckets are cut again from the facts, as when it was created.
            await flush();
            const { tenant, createdAt: _createdAt, updatedAt: _updatedAt, ...meter } = event.data;
            await hours?.meterUpdated(tx, tenant, meter, event.globalPosition);
            break;
          }
          case 'MeterDeleted': {
            await flush();
            const { tenant, slug } = event.data;
            await hours?.meterDeleted(tx, tenant, slug, event.globalPosition);
            break;
          }
          default:
            unhandledEvent(event);
        }
      }
      await flush();
      if (budgets) await evaluateBudgets(tx, { ...budgets, rollups: tables }, touched);
    },
    acceptedAt: (event) => (event.type === 'UsageRecorded' ? event.data.receivedAt : undefined),
  };
};
