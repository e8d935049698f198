import 'reflect-metadata';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { runMain } from '@tally/shared/feature-runtime';

// The invoicing app on its own (distributed mode): its own Postgres schema, the shared ledger, NATS JetStream.
void runMain(
  {
    apps: ['invoicing'],
    modules: [InvoicingModule.register()],
    required: ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'],
  },
  (tally) => tally.runtime.log.info({ url: tally.url }, 'invoicing listening'),
);
