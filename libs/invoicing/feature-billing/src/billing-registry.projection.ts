import { AccountEvent, billingAnchorDayOf } from '@tally/contracts/accounts';
import { CostBudgetEvent } from '@tally/contracts/invoices';
import { PlanEvent } from '@tally/contracts/plans';
import { BillingRegistryTables } from '@tally/invoicing/data-access-billing';
import { evolveTimelines } from '@tally/invoicing/domain';
import { Projection } from '@tally/shared/data-access-postgres';
import { eventsOf, unhandledEvent } from '@tally/shared/util-core';

/** What invoicing bills from: accounts with their subscriptions, and plans. */
export type BillingRegistryEvent = AccountEvent | PlanEvent | CostBudgetEvent;
const billingRegistryEvents = eventsOf<BillingRegistryEvent>({
  AccountOpened: true,
  SubscriptionStarted: true,
  SubscriptionCancelled: true,
  SubscriptionPlanChanged: true,
  SubscriptionRescheduled: true,
  PlanCreated: true,
  PlanRevised: true,
  CostBudgetSet: true,
  CostBudgetRemoved: true,
});

/**
 * What invoicing bills: accounts (zone, anchor day, currency) with their subscriptions, and plans with
 * their versions — folded from the registry and plan events in the ledger, in ledger order.
 */
export const billingRegistryProjection = (tables: BillingRegistryTables): Projection<BillingRegistryEvent> => ({
  name: 'invoicing_registry',
  eventTypes: billingRegistryEvents.types,
  tables: BillingRegistryTables.tables,
  apply: async (tx, events) => {
    for (const event of events) {
      switch (event.type) {
        case 'AccountOpened': {
          const a = event.data;
          await tables.openAccount(tx, {
            tenant: a.tenant,
            accountId: a.accountId,
            currency: a.currency,
            timezone: a.timezone,
            anchorDay: billingAnchorDayOf(a),
          });
          break;
        }
        case 'SubscriptionStarted':
        case 'SubscriptionCancelled':
        case 'SubscriptionPlanChanged':
        case 'SubscriptionRescheduled': {
          const { tenant, accountId } = event.data;
          const account = await tables.account(tx, tenant, accountId);
          if (account)
            await tables.saveSubscriptions(tx, tenant, accountId, evolveTimelines(account.subscriptions, event));
          break;
        }
        case 'PlanCreated': {
          const p = event.data;
          await tables.savePlan(tx, p.tenant, {
            planId: p.planId,
            name: p.name,
            currency: p.currency,
            versions: [{ version: 1, effectiveFrom: null, charges: p.charges ?? [] }],
          });
          break;
        }
        case 'PlanRevised': {
          const r = event.data;
          const plan = (await tables.plans(tx, r.tenant)).get(r.planId);
          if (plan && !plan.versions.some((v) => v.version === r.version))
            await tables.savePlan(tx, r.tenant, {
              ...plan,
              versions: [...plan.versions, { version: r.version, effectiveFrom: r.effectiveFrom, charges: r.charges }],
            });
          break;
        }
        case 'CostBudgetSet': {
          const { tenant, ...budget } = event.data;
          await tables.setCostBudget(tx, tenant, budget, event.globalPosition);
          break;
        }
        case 'CostBudgetRemoved':
          await tables.removeCostBudget(tx, event.data.tenant, event.data.budgetId, event.globalPosition);
          break;
        default:
          unhandledEvent(event);
      }
    }
  },
});
