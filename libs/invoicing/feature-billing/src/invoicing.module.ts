import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MessageBus } from '@tally/shared/data-access-messaging';
import { invoicingStream } from '@tally/contracts/invoices';
import {
  billingMigrations,
  BillingRegistryTables,
  BillingRunTables,
  InvoiceTables,
  StandingTables,
  ReconciliationLedgerTables,
  ReconciliationTables,
} from '@tally/invoicing/data-access-billing';
import { Consumer } from '@tally/shared/data-access-messaging';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import { BatchingEventStore } from '@tally/shared/data-access-event-store';
import {
  appDataSourceProvider,
  MESSAGE_BUS,
  ProjectionCatalog,
  projectionRunnerProvider,
  RUNTIME,
  TallyRuntime,
  Tenancy,
} from '@tally/shared/feature-runtime';
import { BillableUsageClient } from './billable-usage.client';
import { billingBatchLingerMs } from './batching';
import { BillingRunHistory } from './billing-run-history';
import { BillingScheduler } from './billing-scheduler';
import { billingRegistryProjection } from './billing-registry.projection';
import { invoiceEventRelay, startInvoiceWebhooks } from './invoice-events';
import { invoiceProjection } from './invoice.projection';
import { InvoiceRater } from './invoice-rater';
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';
import { ReconciliationLedger } from './reconciliation-ledger';
import { ReconciliationService } from './reconciliation.service';
import { ReconciliationsController } from './reconciliations.controller';
import { CostBudgetsController } from './cost-budgets.controller';
import { CostBudgetsService } from './cost-budgets.service';
import {
  BILLABLE_USAGE,
  BILLING_REGISTRY_TABLES,
  BILLING_RUN_TABLES,
  INVOICE_LEDGER,
  INVOICE_RATER,
  INVOICE_RELAY_RUNNER,
  INVOICE_TABLES,
  INVOICES_RUNNER,
  INVOICING_DB,
  RECONCILIATION_LEDGER,
  RECONCILIATION_TABLES,
  REGISTRY_RUNNER,
  STANDING_TABLES,
  STANDINGS_RUNNER,
} from './tokens';
import { standingsProjection } from './standings.projection';

@Injectable()
class InvoicingLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  private webhooks?: Consumer;

  constructor(
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(INVOICING_DB) private readonly db: DataSource,
    @Inject(REGISTRY_RUNNER) private readonly registry: ProjectionRunner,
    @Inject(INVOICES_RUNNER) private readonly invoices: ProjectionRunner,
    @Inject(INVOICE_RELAY_RUNNER) private readonly relay: ProjectionRunner,
    @Inject(STANDINGS_RUNNER) private readonly standings: ProjectionRunner,
    private readonly catalog: ProjectionCatalog,
    private readonly scheduler: BillingScheduler,
    private readonly reconciliations: ReconciliationService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.catalog.register('invoicing_registry', this.registry);
    this.catalog.register('invoicing_invoices', this.invoices);
    this.catalog.register('invoicing_event_relay', this.relay);
    this.catalog.register('invoicing_standings', this.standings);
    await this.runtime.bus.ensureStream({ name: invoicingStream.name, subjects: [...invoicingStream.subjects] });
    this.webhooks = await startInvoiceWebhooks(this.runtime);
    void this.registry.start();
    void this.invoices.start();
    void this.relay.start();
    void this.standings.start();
    this.scheduler.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.scheduler.stop();
    await this.reconciliations.drain();
    await this.webhooks?.stop();
    await this.registry.stop();
    await this.invoices.stop();
    await this.relay.stop();
    await this.standings.stop();
    await this.db.destroy();
  }
}

/**
 * The invoicing app: price plans (versioned), the billing registry, rating, the invoice lifecycle (draft →
 * grace period → finalized, adjustments and credit notes for later changes), invoice events and webhooks,
 * reconciliation.
 */
@Module({})
export class InvoicingModule {
  static register(): DynamicModule {
    return {
      module: InvoicingModule,
      controllers: [PlansController, InvoicesController, ReconciliationsController, CostBudgetsController],
      providers: [
        appDataSourceProvider(INVOICING_DB, 'invoicing', billingMigrations),
        {
          provide: BILLING_REGISTRY_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new BillingRegistryTables(runtime.schemaFor('invoicing')),
        },
        {
          provide: INVOICE_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new InvoiceTables(runtime.schemaFor('invoicing')),
        },
        {
          provide: STANDING_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new StandingTables(runtime.schemaFor('invoicing')),
        },
        {
          provide: RECONCILIATION_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new ReconciliationTables(runtime.schemaFor('invoicing')),
        },
        {
          provide: RECONCILIATION_LEDGER,
          inject: [RUNTIME, INVOICING_DB],
          useFactory: (runtime: TallyRuntime, db: DataSource) =>
            new ReconciliationLedger(
              runtime.eventStore,
              db,
              new ReconciliationLedgerTables(runtime.schemaFor('invoicing')),
            ),
        },
        {
          provide: BILLING_RUN_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new BillingRunTables(runtime.schemaFor('invoicing')),
        },
        {
          provide: BILLABLE_USAGE,
          inject: [MESSAGE_BUS, Tenancy, RUNTIME],
          useFactory: (bus: MessageBus, tenancy: Tenancy, runtime: TallyRuntime) =>
            new BillableUsageClient(bus, tenancy, () => runtime.clock()),
        },
        {
          provide: INVOICE_LEDGER,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) =>
            new BatchingEventStore(runtime.eventStore, { lingerMs: billingBatchLingerMs }),
        },
        {
          provide: INVOICE_RATER,
          inject: [BILLABLE_USAGE],
          useFactory: (usage: BillableUsageClient) => new InvoiceRater(usage),
        },
        projectionRunnerProvider(
          REGISTRY_RUNNER,
          'invoicing',
          INVOICING_DB,
          () => (schema) => billingRegistryProjection(new BillingRegistryTables(schema)),
        ),
        projectionRunnerProvider(
          INVOICES_RUNNER,
          'invoicing',
          INVOICING_DB,
          () => (schema) => invoiceProjection(new InvoiceTables(schema)),
        ),
        projectionRunnerProvider(
          STANDINGS_RUNNER,
          'invoicing',
          INVOICING_DB,
          () => (schema) => standingsProjection(new StandingTables(schema)),
        ),
        projectionRunnerProvider(
          INVOICE_RELAY_RUNNER,
          'invoicing',
          INVOICING_DB,
          (runtime) => () => invoiceEventRelay(runtime),
        ),
        PlansService,
        InvoicesService,
        BillingScheduler,
        BillingRunHistory,
        CostBudgetsService,
        ReconciliationService,
        InvoicingLifecycle,
      ],
    };
  }
}
