import { MeterTables } from '@tally/aggregation/data-access-usage';
import { isMeterEvent, MeterEvent } from '@tally/contracts/meters';
import { Projection } from '@tally/shared/data-access-postgres';
import { unhandledEvent } from '@tally/shared/util-core';

/** The meter catalogue (list, unmetered event types), folded from the meter streams; position-guarded. */
export const meterCatalogProjection = (tables: MeterTables): Projection<MeterEvent> => ({
  name: 'aggregation_meters',
  eventTypes: isMeterEvent.types,
  tables: MeterTables.tables,
  apply: async (tx, events) => {
    for (const event of events) {
      switch (event.type) {
        case 'MeterCreated': {
          const { tenant, createdAt, ...meter } = event.data;
          await tables.created(tx, tenant, meter, createdAt, event.globalPosition);
          break;
        }
        case 'MeterUpdated': {
          const { tenant, createdAt, ...meter } = event.data;
          await tables.created(tx, tenant, meter, createdAt, event.globalPosition);
          break;
        }
        case 'MeterDeleted': {
          const { tenant, slug, deletedAt } = event.data;
          await tables.deleted(tx, tenant, slug, deletedAt, event.globalPosition);
          break;
        }
        default:
          unhandledEvent(event);
      }
    }
  },
});
