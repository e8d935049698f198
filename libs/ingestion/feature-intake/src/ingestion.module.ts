import {
  DynamicModule,
  Inject,
  Injectable,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyTables, EventStatusTables, intakeMigrations } from '@tally/ingestion/data-access-intake';
import { ProjectionRunner } from '@tally/shared/data-access-postgres';
import {
  appDataSourceProvider,
  ProducerKeys,
  ProjectionCatalog,
  projectionRunnerProvider,
  RUNTIME,
  TallyRuntime,
} from '@tally/shared/feature-runtime';
import { CorrectionsController } from './corrections.controller';
import { EventStatusController } from './event-status.controller';
import { IntakeRateController } from './intake-rate.controller';
import { eventStatusProjection } from './event-status.projection';
import { NatsIntakeResponder } from './nats-intake.responder';
import { StatusIntakeConsumer } from './status-intake.consumer';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { IntakeController } from './intake.controller';
import { IntakeService } from './intake.service';
import { EarlierCopiesLookup } from './earlier-copies.lookup';
import { OpenMeterIntakeController } from './openmeter-intake.controller';
import { API_KEY_TABLES, EVENT_STATUS_RUNNER, EVENT_STATUS_TABLES, INGESTION_DB } from './tokens';

/** Starts and stops the status workers in order: nothing touches the database after it is closed. */
@Injectable()
class IngestionLifecycle implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(INGESTION_DB) private readonly db: DataSource,
    @Inject(EVENT_STATUS_RUNNER) private readonly runner: ProjectionRunner,
    private readonly statusConsumer: StatusIntakeConsumer,
    private readonly natsIntake: NatsIntakeResponder,
    private readonly catalog: ProjectionCatalog,
    private readonly keys: ApiKeysService,
    private readonly producerKeys: ProducerKeys,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // The request gate checks producer keys from the headers, before a body is read.
    this.producerKeys.check = async (key) => {
      const row = await this.keys.authenticate(key);
      return row && { tenant: row.tenant, allowedSources: row.allowedSources, keyId: row.id };
    };
    this.catalog.register('ingestion_event_status', this.runner);
    await this.statusConsumer.start();
    await this.natsIntake.start();
    void this.runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.natsIntake.stop();
    await this.statusConsumer.stop();
    await this.runner.stop();
    await this.db.destroy();
  }
}

/** The ingestion app: HTTP intake (native and OpenMeter-compatible), corrections, event status, producer API keys. */
@Module({})
export class IngestionModule {
  static register(): DynamicModule {
    return {
      module: IngestionModule,
      controllers: [
        IntakeController,
        OpenMeterIntakeController,
        ApiKeysController,
        EventStatusController,
        CorrectionsController,
        IntakeRateController,
      ],
      providers: [
        appDataSourceProvider(INGESTION_DB, 'ingestion', intakeMigrations),
        {
          provide: API_KEY_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new ApiKeyTables(runtime.schemaFor('ingestion')),
        },
        {
          provide: EVENT_STATUS_TABLES,
          inject: [RUNTIME],
          useFactory: (runtime: TallyRuntime) => new EventStatusTables(runtime.schemaFor('ingestion')),
        },
        projectionRunnerProvider(
          EVENT_STATUS_RUNNER,
          'ingestion',
          INGESTION_DB,
          () => (schema) => eventStatusProjection(new EventStatusTables(schema)),
        ),
        StatusIntakeConsumer,
        NatsIntakeResponder,
        ApiKeysService,
        EarlierCopiesLookup,
        IntakeService,
        IngestionLifecycle,
      ],
      exports: [ApiKeysService],
    };
  }
}
