import 'reflect-metadata';
import { IngestionModule } from '@tally/ingestion/feature-intake';
import { runMain } from '@tally/shared/feature-runtime';

// The ingestion app on its own (distributed mode): its own Postgres schema, the shared ledger, NATS JetStream.
void runMain(
  {
    apps: ['ingestion'],
    modules: [IngestionModule.register()],
    required: ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'],
  },
  (tally) => tally.runtime.log.info({ url: tally.url }, 'ingestion listening'),
);
