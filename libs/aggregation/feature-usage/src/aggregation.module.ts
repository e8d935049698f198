import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import {
  BudgetTables,
  MeterHourTables,
  MeterQueryTables,
  MeterValuesTables,
  MeterTables,
  rollupMigrations,
  RollupTables,
} from '@tally/aggregation/data-access-usage';
import { aggregationStream } from '@tally/contracts/meters';
import { Consumer } from '@tally/shared/data-access-messaging';
import { openPool } from '@tally/shared/data-access-pg-client';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import { messageOf } from '@tally/shared/util-core';
import {
  appDataSourceProvider,
  ProjectionCatalog,
  projectionRunnerProvider,
  RUNTIME,
  TallyRuntime,
} from '@tally/shared/feature-runtime';
import { AccountUsageController } from './account-usage.controller';
import { BillableUsageResponder } from './billable-usage.responder';
import { MeterQueryResponder } from './meter-query.responder';
import { MeterQueryService } from './meter-query.service';
import { budgetAlertRelay, startBudgetWebhooks } from './budget-alerts';
import { BudgetsController } from './budgets.controller';
import { BudgetsService } from './budgets.service';
import { meterCatalogProjection } from './meter-catalog.projection';
import { MetersController } from './meters.controller';
import { MetersService } from './meters.service';
import {
  AGGREGATION_DB,
  BUDGET_RELAY_RUNNER,
  BUDGET_TABLES,
  EXPORT_POOL,
  METER_CATALOG_RUNNER,
  METER_QUERY_TABLES,
  METER_VALUES_TABLES,
  METER_TABLES,
  ROLLUP_RUNNER,
  ROLLUP_TABLES,
} from './tokens';
import { UsageController } from './usage.controller';
import { UsageExportController } from './usage-export.controller';
import { usageRollupProjection } from './usage-rollup.projection';

@Injectable()
class AggregationLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(ROLLUP_RUNNER) private readonly runner: ProjectionRunner,
    @Inject(METER_CATALOG_RUNNER) private readonly meterCatalog: ProjectionRunner,
    @Inject(BUDGET_RELAY_RUNNER) private readonly alertRelay: ProjectionRunner,
    @Inject(RUNTIME) private readonly runtime: TallyRuntime,
    @Inject(AGGREGATION_DB) private readonly db: DataSource,
    @Inject(EXPORT_POOL) private readonly exportPool: Pool,
    private readonly catalog: ProjectionCatalog,
    private readonly billableUsage: BillableUsageResponder,
    private readonly meterQuery: MeterQueryResponder,
  ) {}

  private webhooks?: Consumer;

  async onApplicationBootstrap(): Promise<void> {
    this.catalog.register('aggregation_usage_rollup', this.runner);
    this.catalog.register('aggregation_meters', this.meterCatalog);
    this.catalog.register('aggregation_budget_alert_relay', this.alertRelay);
    await this.runtime.bus.ensureStream(aggregationStream);
    this.webhooks = await startBudgetWebhooks(this.runtime);
    void this.runner.start();
    void this.meterCatalog.start();
    void this.alertRelay.start();
    await this.billableUsage.start();
    await this.meterQuery.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.billableUsage.stop();
    await this.meterQuery.stop();
    await this.webhooks?.stop();
    await this.runner.stop();
    await this.meterCatalog.stop();
    await this.alertRelay.stop();
    await this.exportPool.end();
    await this.db.destroy();
  }
}

/** The aggregation app: meters, usage rollups projected from the ledger, and the usage query API. */
@Module({})
export class AggregationModule {
  static register(): DynamicModule {
    return {
      module: AggregationModule,
      controllers: [
        UsageController,
        MetersController,
        AccountUsageController,
        BudgetsController,
        UsageExportController,
      ],
      providers: [
        appDataSourceProvider(AGGREGATION_DB, 'aggregation', rollupMigrations),
        {
          // Four exports stream at once per process; a fifth waits for a client (and fails after 5 s with a 503).
          provide: EXPORT_POOL,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) =>
            openPool({
              connectionString: runtime.connectionString,
              max: 4,
              onError: (error) => runtime.log.warn({ reason: messageOf(error) }, 'usage export connection lost'),
            }),
        },
        {
          provide: ROLLUP_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new RollupTables(runtime.schemaFor('aggregation')),
        },
        {
          provide: BUDGET_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new BudgetTables(runtime.schemaFor('aggregation')),
        },
        projectionRunnerProvider(
          ROLLUP_RUNNER,
          'aggregation',
          AGGREGATION_DB,
          (runtime) => (schema) =>
            usageRollupProjection(
              new RollupTables(schema, runtime.schemaFor('aggregation')),
              {
                budgets: new BudgetTables(schema),
                queries: new MeterQueryTables(schema, {
                  clock: () => runtime.clock(),
                  functions: runtime.schemaFor('aggregation'),
                }),
                store: runtime.eventStore,
              },
              new MeterHourTables(schema, runtime.schemaFor('aggregation')),
            ),
        ),
        projectionRunnerProvider(
          BUDGET_RELAY_RUNNER,
          'aggregation',
          AGGREGATION_DB,
          (runtime) => () => budgetAlertRelay(runtime),
        ),
        BudgetsService,
        {
          provide: METER_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new MeterTables(runtime.schemaFor('aggregation')),
        },
        projectionRunnerProvider(
          METER_CATALOG_RUNNER,
          'aggregation',
          AGGREGATION_DB,
          () => (schema) => meterCatalogProjection(new MeterTables(schema)),
        ),
        {
          provide: METER_QUERY_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) =>
            new MeterQueryTables(runtime.schemaFor('aggregation'), { clock: () => runtime.clock() }),
        },
        {
          provide: METER_VALUES_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new MeterValuesTables(runtime.schemaFor('aggregation')),
        },
        MetersService,
        MeterQueryService,
        MeterQueryResponder,
        BillableUsageResponder,
        AggregationLifecycle,
      ],
    };
  }
}
