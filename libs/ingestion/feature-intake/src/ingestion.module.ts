import { DynamicModule, Module } from '@nestjs/common';
import { IntakeController } from './intake.controller';
import { IntakeService } from './intake.service';
import { OpenMeterIntakeController } from './openmeter-intake.controller';

/** The ingestion app: the telemetry contract's HTTP intake, durable accept onto JetStream. */
@Module({})
export class IngestionModule {
  static register(): DynamicModule {
    return { module: IngestionModule, controllers: [IntakeController, OpenMeterIntakeController], providers: [IntakeService] };
  }
}
