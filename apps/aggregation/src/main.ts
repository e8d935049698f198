import 'reflect-metadata';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import { runMain } from '@tally/shared/feature-runtime';

// The aggregation app on its own (distributed mode): its own Postgres schema, the shared ledger, NATS JetStream.
void runMain(
  {
    apps: ['aggregation'],
    modules: [AggregationModule.register()],
    required: ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'],
  },
  (tally) => tally.runtime.log.info({ url: tally.url }, 'aggregation listening'),
);
