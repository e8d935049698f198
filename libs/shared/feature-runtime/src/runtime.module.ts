import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { AccessController } from './access.controller';
import { AdminAuthGuard, TenantScopeInterceptor } from './auth';
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
      controllers: [
        HealthController,
        ProjectionsController,
        MetricsController,
        DeadLettersController,
        AccessController,
      ],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: TALLY_APPS, useValue: apps },
        ProjectionCatalog,
        LedgerPositionInterceptor,
        ProducerKeys,
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        { provide: APP_INTERCEPTOR, useClass: TenantScopeInterceptor },
      ],
      exports: [RUNTIME, ProjectionCatalog, LedgerPositionInterceptor, ProducerKeys],
    };
  }
}
