import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MeterQueryTables, MeterTables, rollupMigrations, RollupTables } from '@tally/aggregation/data-access-rollups';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import { appDataSourceProvider, ProjectionCatalog, projectionRunnerProvider, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { AccountUsageController } from './account-usage.controller';
import { meterCatalogProjection } from './meter-catalog.projection';
import { MetersController } from './meters.controller';
import { MetersService } from './meters.service';
import { AGGREGATION_DB, METER_CATALOG_RUNNER, METER_QUERY_TABLES, METER_TABLES, ROLLUP_RUNNER, ROLLUP_TABLES } from './tokens';
import { UsageController } from './usage.controller';
import { usageRollupProjection } from './usage-rollup.projection';

@Injectable()
class AggregationLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(ROLLUP_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(METER_CATALOG_RUNNER) private readonly meterCatalog: ProjectionRunner,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    private readonly catalog: ProjectionCatalog,
  ) {}

  onApplicationBootstrap(): void {
    this.catalog.register('usage_rollup', this.runner);
    this.catalog.register('aggregation_meters', this.meterCatalog);
    void this.runner.start();
    void this.meterCatalog.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
    await this.meterCatalog.stop();
    await this.db.destroy();
  }
}

/** The aggregation app: meters, usage rollups projected from the ledger, and the usage query API. */
@Module({})
export class AggregationModule {
  static register(): DynamicModule {
    return {
      module: AggregationModule,
      controllers: [UsageController, MetersController, AccountUsageController],
      providers: [
        appDataSourceProvider(AGGREGATION_DB, 'aggregation', rollupMigrations),
        { provide: ROLLUP_TABLES, inject: [RUNTIME], useFactory: (runtime: TallyRuntime) => new RollupTables(runtime.schemaFor('aggregation')) },
        projectionRunnerProvider(ROLLUP_RUNNER, 'aggregation', AGGREGATION_DB, [ROLLUP_TABLES], (_runtime, tables: RollupTables) => usageRollupProjection(tables)),
        { provide: METER_TABLES, inject: [RUNTIME], useFactory: (runtime: TallyRuntime) => new MeterTables(runtime.schemaFor('aggregation')) },
        projectionRunnerProvider(METER_CATALOG_RUNNER, 'aggregation', AGGREGATION_DB, [METER_TABLES], (_runtime, tables: MeterTables) => meterCatalogProjection(tables)),
        { provide: METER_QUERY_TABLES, inject: [RUNTIME], useFactory: (runtime: TallyRuntime) => new MeterQueryTables(runtime.schemaFor('aggregation')) },
        MetersService,
        AggregationLifecycle,
      ],
    };
  }
}
