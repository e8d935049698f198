import { EventStatusTables } from '@tally/ingestion/data-access-intake';
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
import { Projection } from '@tally/shared/data-access-postgres';

/** The ledger's side of each event's status: recorded, parked, attributed, voided, amended. */
export const eventStatusProjection = (tables: EventStatusTables): Projection => ({
  name: 'ingestion_event_status',
  eventTypes: [usageRecordedType, usageReattributedType, usageVoidedType, usageAmendedType],
  tables: EventStatusTables.tables,
  carryOver: (tx, from, to) => EventStatusTables.carryOverIntake(tx, from, to),
  apply: async (tx, events) => {
    for (const event of events) {
      const at = event.recordedAt.toISOString();
      switch (event.type) {
        case usageRecordedType: {
          const u = event.data as unknown as UsageRecordedV1;
          await tables.recorded(tx, [
            {
              usageId: u.usageId,
              tenant: u.tenant,
              source: u.source,
              eventId: u.eventId,
              at,
              parkedReason: u.attribution.status === 'parked' ? u.attribution.reason : null,
              accountId: u.attribution.status === 'attributed' ? u.attribution.accountId : null,
            },
          ]);
          break;
        }
        case usageReattributedType: {
          const { usageId, next } = event.data as unknown as UsageReattributedV1;
          await tables.moved(
            tx,
            usageId,
            next.status === 'attributed' ? { accountId: next.accountId } : { parkedReason: next.reason },
            at,
          );
          break;
        }
        case usageVoidedType: {
          const v = event.data as unknown as UsageVoidedV1;
          await tables.voided(
            tx,
            { usageId: v.usageId, tenant: v.tenant, source: v.source, eventId: v.eventId },
            v.reason,
            at,
          );
          break;
        }
        case usageAmendedType: {
          const a = event.data as unknown as UsageAmendedV1;
          await tables.amended(
            tx,
            { usageId: a.usageId, tenant: a.tenant, source: a.source, eventId: a.eventId },
            a.reason,
            at,
          );
          break;
        }
      }
    }
  },
});
