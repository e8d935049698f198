import {
  AccountOpenedV1,
  accountOpenedType,
  billingAnchorDayOf,
  subscriptionCancelledType,
  subscriptionPlanChangedType,
  subscriptionRescheduledType,
  subscriptionStartedType,
} from '@tally/contracts/accounts';
import { PlanCreatedV1, planCreatedType, PlanRevisedV1, planRevisedType } from '@tally/contracts/plans';
import { BillingRegistryTables } from '@tally/invoicing/data-access-billing';
import { evolveTimelines, SubscriptionEventLike } from '@tally/invoicing/domain';
import { Projection } from '@tally/shared/data-access-postgres';

const subscriptionTypes = [
  subscriptionStartedType,
  subscriptionCancelledType,
  subscriptionPlanChangedType,
  subscriptionRescheduledType,
];

/**
 * What invoicing bills: accounts (zone, anchor day, currency) with their subscriptions, and plans with
 * their versions — folded from the registry and plan events in the ledger, in ledger order.
 */
export const billingRegistryProjection = (tables: BillingRegistryTables): Projection => ({
  name: 'invoicing_registry',
  eventTypes: [accountOpenedType, ...subscriptionTypes, planCreatedType, planRevisedType],
  tables: BillingRegistryTables.tables,
  apply: async (tx, events) => {
    for (const event of events) {
      if (event.type === accountOpenedType) {
        const a = event.data as unknown as AccountOpenedV1;
        await tables.openAccount(tx, {
          tenant: a.tenant,
          accountId: a.accountId,
          currency: a.currency,
          timezone: a.timezone,
          anchorDay: billingAnchorDayOf(a),
        });
      } else if (subscriptionTypes.includes(event.type)) {
        const { tenant, accountId } = event.data as { tenant: string; accountId: string };
        const account = await tables.account(tx, tenant, accountId);
        if (account)
          await tables.saveSubscriptions(
            tx,
            tenant,
            accountId,
            evolveTimelines(account.subscriptions, event as unknown as SubscriptionEventLike),
          );
      } else if (event.type === planCreatedType) {
        const p = event.data as unknown as PlanCreatedV1;
        await tables.savePlan(tx, p.tenant, {
          planId: p.planId,
          name: p.name,
          currency: p.currency,
          versions: [{ version: 1, effectiveFrom: null, charges: p.charges ?? [] }],
        });
      } else if (event.type === planRevisedType) {
        const r = event.data as unknown as PlanRevisedV1;
        const plan = (await tables.plans(tx, r.tenant)).get(r.planId);
        if (plan && !plan.versions.some((v) => v.version === r.version))
          await tables.savePlan(tx, r.tenant, {
            ...plan,
            versions: [...plan.versions, { version: r.version, effectiveFrom: r.effectiveFrom, charges: r.charges }],
          });
      }
    }
  },
});
