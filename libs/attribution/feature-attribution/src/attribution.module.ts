import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RegistryTables, registryMigrations } from '@tally/attribution/data-access-registry';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import {
  appDataSourceProvider,
  ProjectionCatalog,
  projectionRunnerProvider,
  RUNTIME,
  TallyRuntime,
} from '@tally/shared/feature-runtime';
import { ArchiveController } from './archive.controller';
import { ArchivePasses } from './archive-passes';
import { ParkedUsageController } from './parked-usage.controller';
import { RegistryController } from './registry.controller';
import { registryProjection } from './registry.projection';
import { RegistryService } from './registry.service';
import { ATTRIBUTION_DB, REGISTRY_TABLES } from './tokens';
import { AccountsController } from './accounts.controller';
import { UsageCorrectionsConsumer } from './usage-corrections.consumer';
import { UsageLedgerConsumer } from './usage-ledger.consumer';

const REGISTRY_RUNNER = Symbol('RegistryProjectionRunner');

/** Starts and stops the app's workers in order: nothing touches the database after it is closed. */
@Injectable()
class AttributionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly consumer: UsageLedgerConsumer,
    private readonly corrections: UsageCorrectionsConsumer,
    @Inject(REGISTRY_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(ATTRIBUTION_DB) private readonly db: DataSource,
    private readonly catalog: ProjectionCatalog,
    private readonly archive: ArchivePasses,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.catalog.register('attribution_registry', this.runner);
    await this.consumer.start();
    await this.corrections.start();
    void this.runner.start();
    this.archive.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.archive.stop();
    await this.consumer.stop();
    await this.corrections.stop();
    await this.runner.stop();
    await this.db.destroy();
  }
}

/** The attribution app: registry (accounts, subjects), the usage ledger writer, parking and re-attribution, the archive's passes. */
@Module({})
export class AttributionModule {
  static register(): DynamicModule {
    return {
      module: AttributionModule,
      controllers: [AccountsController, RegistryController, ParkedUsageController, ArchiveController],
      providers: [
        appDataSourceProvider(ATTRIBUTION_DB, 'attribution', registryMigrations),
        {
          provide: REGISTRY_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new RegistryTables(runtime.schemaFor('attribution')),
        },
        projectionRunnerProvider(
          REGISTRY_RUNNER,
          'attribution',
          ATTRIBUTION_DB,
          (runtime) => (schema) => registryProjection(new RegistryTables(schema), runtime.eventStore),
        ),
        RegistryService,
        UsageLedgerConsumer,
        UsageCorrectionsConsumer,
        ArchivePasses,
        AttributionLifecycle,
      ],
    };
  }
}
