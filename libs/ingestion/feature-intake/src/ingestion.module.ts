import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ApiKeyTables, intakeMigrations } from '@tally/ingestion/data-access-intake';
import { appDataSourceProvider, RUNTIME, TallyRuntime } from '@tally/shared/feature-runtime';
import { ApiKeysController } from './api-keys.controller';
import { ApiKeysService } from './api-keys.service';
import { IntakeController } from './intake.controller';
import { IntakeService } from './intake.service';
import { OpenMeterIntakeController } from './openmeter-intake.controller';
import { ApiKeyGuard } from './producer.guard';
import { API_KEY_TABLES, INGESTION_DB } from './tokens';

@Injectable()
class IngestionLifecycle implements OnApplicationShutdown {
  constructor(@Inject(INGESTION_DB) private readonly db: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    await this.db.destroy();
  }
}

/** The ingestion app: the telemetry contract's HTTP intake (native and OpenMeter-compatible), producer API keys. */
@Module({})
export class IngestionModule {
  static register(): DynamicModule {
    return {
      module: IngestionModule,
      controllers: [IntakeController, OpenMeterIntakeController, ApiKeysController],
      providers: [
        appDataSourceProvider(INGESTION_DB, 'ingestion', intakeMigrations),
        { provide: API_KEY_TABLES, inject: [RUNTIME], useFactory: (runtime: TallyRuntime) => new ApiKeyTables(runtime.schemaFor('ingestion')) },
        ApiKeysService,
        ApiKeyGuard,
        IntakeService,
        IngestionLifecycle,
      ],
      exports: [ApiKeysService],
    };
  }
}
