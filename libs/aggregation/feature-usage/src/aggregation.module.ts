import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { rollupMigrations, RollupTables } from '@tally/aggregation/data-access-rollups';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import { appDataSourceProvider, ProjectionCatalog, projectionRunnerProvider, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { AGGREGATION_DB, ROLLUP_RUNNER, ROLLUP_TABLES } from './tokens';
import { UsageController } from './usage.controller';
import { usageRollupProjection } from './usage-rollup.projection';

@Injectable()
class AggregationLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(ROLLUP_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    private readonly catalog: ProjectionCatalog,
  ) {}

  onApplicationBootstrap(): void {
    this.catalog.register('usage_rollup', this.runner);
    void this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.runner.stop();
    await this.db.destroy();
  }
}

/** The aggregation app: usage rollups projected from the ledger, and the usage query API. */
@Module({})
export class AggregationModule {
  static register(): DynamicModule {
    return {
      module: AggregationModule,
      controllers: [UsageController],
      providers: [
        appDataSourceProvider(AGGREGATION_DB, 'aggregation', rollupMigrations),
        { provide: ROLLUP_TABLES, inject: [RUNTIME], useFactory: (runtime: TallyRuntime) => new RollupTables(runtime.schemaFor('aggregation')) },
        projectionRunnerProvider(ROLLUP_RUNNER, 'aggregation', AGGREGATION_DB, [ROLLUP_TABLES], (_runtime, tables: RollupTables) => usageRollupProjection(tables)),
        AggregationLifecycle,
      ],
    };
  }
}
