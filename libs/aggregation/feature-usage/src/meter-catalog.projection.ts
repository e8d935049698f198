import { Meter } from '@tally/aggregation/domain';
import { MeterTables } from '@tally/aggregation/data-access-rollups';
import { MeterCreatedV1, meterCreatedType, MeterDeletedV1, meterDeletedType } from '@tally/contracts/meters';
import { Projection } from '@tally/shared/data-access-postgres';

/** The meter catalogue (list, unmetered event types), folded from the meter streams; position-guarded. */
export const meterCatalogProjection = (tables: MeterTables): Projection => ({
  name: 'aggregation_meters',
  eventTypes: [meterCreatedType, meterDeletedType],
  tables: MeterTables.tables,
  apply: async (tx, events) => {
    for (const event of events) {
      if (event.type === meterCreatedType) {
        const { tenant, createdAt, ...meter } = event.data as unknown as MeterCreatedV1;
        await tables.created(tx, tenant, meter as Meter, createdAt, event.globalPosition);
      } else {
        const { tenant, slug, deletedAt } = event.data as unknown as MeterDeletedV1;
        await tables.deleted(tx, tenant, slug, deletedAt, event.globalPosition);
      }
    }
  },
});
