import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AdminAuthGuard } from './auth';
import { DeadLettersController } from './dead-letters.controller';
import { HealthController } from './health.controller';
import { LedgerPositionInterceptor } from './ledger-position';
import { ProducerKeys } from './request-gate';
import { MetricsController, ProjectionCatalog, ProjectionsController } from './projection-catalog';
import { TallyRuntime } from './runtime';
import { RUNTIME, TALLY_APPS } from './tokens';

@Global()
@Module({})
export class RuntimeModule {
  static forRoot(runtime: TallyRuntime, apps: readonly string[]): DynamicModule {
    return {
      module: RuntimeModule,
      controllers: [HealthController, ProjectionsController, MetricsController, DeadLettersController],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: TALLY_APPS, useValue: apps },
        ProjectionCatalog,
        LedgerPositionInterceptor,
        ProducerKeys,
        { provide: APP_GUARD, useClass: AdminAuthGuard },
      ],
      exports: [RUNTIME, ProjectionCatalog, LedgerPositionInterceptor, ProducerKeys],
    };
  }
}
