import 'reflect-metadata';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { AttributionModule } from '@tally/attribution/feature-ledger';
import { IngestionModule } from '@tally/ingestion/feature-intake';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { runMain } from '@tally/shared/feature-runtime';
import { banner } from './banner';

// Embedded mode (`npm start`): all four apps in one process on one port. Without DATABASE_URL an
// embedded Postgres starts under TALLY_DATA_DIR; without NATS_URL the bus lives in Postgres too.
void runMain(
  {
    apps: ['ingestion', 'attribution', 'aggregation', 'invoicing'],
    modules: [IngestionModule.register(), AttributionModule.register(), AggregationModule.register(), InvoicingModule.register()],
    allowEmbeddedPostgres: true,
  },
  (tally) => console.log(banner(tally.url, tally.runtime)),
);
