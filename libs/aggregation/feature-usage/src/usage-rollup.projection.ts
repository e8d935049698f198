import { RollupTables, UsageFact } from '@tally/aggregation/data-access-rollups';
import { UsageAttributedV1, usageAttributedType, UsageRecordedV1, usageRecordedType, UsageVoidedV1, usageVoidedType } from '@tally/contracts/usage';
import { RecordedEvent } from '@tally/shared/data-access-event-store';
import { Projection } from '@tally/shared/data-access-postgres';

/** The usage a ledger event adds to an account, if any: attributed on arrival, or attributed later. */
export const usageFactOf = (event: RecordedEvent): UsageFact | undefined => {
  switch (event.type) {
    case usageRecordedType: {
      const u = event.data as unknown as UsageRecordedV1;
      if (u.attribution.status !== 'attributed') return undefined;
      return { usageId: u.usageId, tenant: u.tenant, accountId: u.attribution.accountId, subject: u.subject, eventType: u.eventType, time: u.time };
    }
    case usageAttributedType: {
      const a = event.data as unknown as UsageAttributedV1;
      return { usageId: a.usageId, tenant: a.tenant, accountId: a.accountId, subject: a.subject, eventType: a.eventType, time: a.time };
    }
    default:
      return undefined;
  }
};

/**
 * Applied in ledger order: consecutive usage is added in one statement; a void first flushes what
 * came before it, so "recorded, then voided" and "voided, then recorded" both end uncounted.
 */
export const usageRollupProjection = (tables: RollupTables): Projection => ({
  name: 'usage_rollup',
  eventTypes: [usageRecordedType, usageAttributedType, usageVoidedType],
  apply: async (tx, events) => {
    let pending: UsageFact[] = [];
    for (const event of events) {
      if (event.type === usageVoidedType) {
        await tables.add(tx, pending);
        pending = [];
        await tables.void(tx, [(event.data as unknown as UsageVoidedV1).usageId]);
        continue;
      }
      const fact = usageFactOf(event);
      if (fact) pending.push(fact);
    }
    await tables.add(tx, pending);
  },
  reset: (tx) => tables.reset(tx),
});
