import { EntityManager } from 'typeorm';
import { Budget, Meter, meterDecider, periodAt, periodBounds, reachedThresholds } from '@tally/aggregation/domain';
import { BudgetTables, MeterQueryTables, RollupTables } from '@tally/aggregation/data-access-usage';
import {
  budgetAlertStream,
  BudgetThresholdCrossedV1,
  budgetThresholdCrossedType,
  meterStream,
} from '@tally/contracts/meters';
import { aggregateStream, EventStore, StreamAppend } from '@tally/shared/data-access-event-store';
import { deterministicUuid } from '@tally/shared/util-core';

export interface BudgetDeps {
  rollups: RollupTables;
  budgets: BudgetTables;
  queries: MeterQueryTables;
  store: EventStore;
}

/** Which (account, billing period) pairs a batch touched, collected while it is applied. */
export class TouchedPeriods {
  private readonly touched = new Map<string, { tenant: string; accountId: string; instants: Set<string> }>();

  add(tenant: string, accountId: string | null, instant: string): void {
    if (!accountId) return;
    const key = `${tenant}\u0000${accountId}`;
    const entry = this.touched.get(key) ?? { tenant, accountId, instants: new Set<string>() };
    entry.instants.add(instant);
    this.touched.set(key, entry);
  }

  entries() {
    return [...this.touched.values()];
  }
}

/**
 * After a batch is applied (same transaction): each budget of a touched account is measured for the
 * touched periods; thresholds reached for the first time are recorded and alerted as
 * BudgetThresholdCrossed, with an id from (budget, period, threshold) — so redelivery, replay and
 * rebuild never alert twice.
 */
export const evaluateBudgets = async (tx: EntityManager, deps: BudgetDeps, touched: TouchedPeriods): Promise<void> => {
  const alerts: StreamAppend[] = [];
  const entries = touched.entries();
  const budgetsOf = new Map<string, Map<string, Budget[]>>();
  for (const tenant of new Set(entries.map((e) => e.tenant)))
    budgetsOf.set(
      tenant,
      await deps.budgets.ofAccounts(
        tx,
        tenant,
        entries.filter((e) => e.tenant === tenant).map((e) => e.accountId),
      ),
    );
  for (const { tenant, accountId, instants } of entries) {
    const budgets = budgetsOf.get(tenant)?.get(accountId) ?? [];
    const account = budgets.length > 0 ? await deps.rollups.account(tx, tenant, accountId) : undefined;
    if (!account) continue;
    const periods = new Set([...instants].map((i) => periodAt(new Date(i), account.timezone, account.anchorDay)));
    // Time-weighted levels are held up to the newest usage of the batch, not to the wall clock: a replay or a
    // rebuild measures what the live projection measured (the same crossings, the same alerts).
    const asOf = new Date(Math.max(...[...instants].map((i) => Date.parse(i))));
    for (const budget of budgets) {
      const meter = await meterOf(deps.store, tenant, budget.meter);
      if (!meter) continue;
      for (const period of periods) {
        const { from, to } = periodBounds(period, account.timezone, account.anchorDay);
        const [value] = await deps.queries.query(tx, tenant, meter, {
          from,
          to,
          windowTimeZone: account.timezone,
          accountId,
          subjects: [],
          groupBy: [],
          filterGroupBy: {},
          filterAttributes: budget.app ? { app: budget.app } : {},
          asOf,
        });
        const usage = value?.value ?? '0';
        const fresh = await deps.budgets.cross(tx, tenant, budget.budgetId, period, reachedThresholds(budget, usage));
        for (const threshold of fresh) alerts.push(alert(tenant, budget, period, threshold, usage));
      }
    }
  }
  if (alerts.length > 0) await deps.store.appendToStreams(alerts);
};

const alert = (tenant: string, budget: Budget, period: string, threshold: number, usage: string): StreamAppend => {
  const data: BudgetThresholdCrossedV1 = {
    tenant,
    budgetId: budget.budgetId,
    accountId: budget.accountId,
    meter: budget.meter,
    app: budget.app,
    period,
    threshold,
    limit: budget.limit,
    usage,
  };
  return {
    stream: budgetAlertStream(tenant, budget.budgetId),
    expectedRevision: 'any',
    events: [
      {
        id: deterministicUuid('tally.budget-threshold-crossed.v1', tenant, budget.budgetId, period, String(threshold)),
        type: budgetThresholdCrossedType,
        data: { ...data },
      },
    ],
  };
};

/** The meter as the ledger has it (consistent with the budget that names it, whatever the catalogue's lag). */
const meterOf = async (store: EventStore, tenant: string, slug: string): Promise<Meter | undefined> => {
  const { state } = await aggregateStream(store, meterDecider, meterStream(tenant, slug));
  return state.status === 'active' ? state.meter : undefined;
};
