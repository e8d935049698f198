import { RollupTables, UsageFact } from '@tally/aggregation/data-access-rollups';
import { AccountOpenedV1, accountOpenedType } from '@tally/contracts/accounts';
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
export const usageRollupProjection = (tables: RollupTables): Projection => ({
  name: 'usage_rollup',
  eventTypes: [usageRecordedType, usageReattributedType, usageVoidedType, usageAmendedType, accountOpenedType],
  apply: async (tx, events) => {
    let pending: UsageFact[] = [];
    const flush = async () => {
      await tables.add(tx, pending);
      pending = [];
    };
    for (const event of events) {
      switch (event.type) {
        case usageRecordedType:
          pending.push(usageFactOf(event));
          break;
        case usageReattributedType: {
          await flush();
          const { usageId, next } = event.data as unknown as UsageReattributedV1;
          await tables.move(tx, usageId, next.status === 'attributed' ? next.accountId : null, next.status === 'attributed' ? next.attributes : {}, event.globalPosition.toString());
          break;
        }
        case usageVoidedType:
          await flush();
          await tables.void(tx, [(event.data as unknown as UsageVoidedV1).usageId]);
          break;
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
  },
  reset: (tx) => tables.reset(tx),
  acceptedAt: (event) => (event.type === usageRecordedType ? (event.data as unknown as UsageRecordedV1).receivedAt : undefined),
});
