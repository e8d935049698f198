import 'reflect-metadata';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { runMain } from '@tally/shared/feature-runtime';

// The attribution app on its own (distributed mode): its own Postgres schema, the shared ledger, NATS JetStream.
void runMain(
  {
    apps: ['attribution'],
    modules: [AttributionModule.register()],
    required: ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'],
  },
  (tally) => tally.runtime.log.info({ url: tally.url }, 'attribution listening'),
);
