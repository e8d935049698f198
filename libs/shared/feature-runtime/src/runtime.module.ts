import { DynamicModule, Global, Module, Type } from '@nestjs/common';
import { OpenApiController, OpenApiDocument, SERVED_CONTROLLERS } from './openapi';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { RequestSchemaInterceptor } from './request-schemas';
import { AccessController } from './access.controller';
import { AdminAuthGuard, TenantScopeInterceptor } from './auth';
import { RequestTelemetryInterceptor } from './http-telemetry';
import { DeadLettersController } from './dead-letters.controller';
import { HealthController } from './health.controller';
import { LedgerPositionInterceptor } from './ledger-position';
import { NatsCallers, ProducerKeys } from './request-gate';
import { MetricsController, ProjectionCatalog, ProjectionsController } from './projection-catalog';
import { TallyRuntime } from './runtime';
import { Metrics } from './metrics';
import { Tenancy } from './tenancy';
import {
  ACCESS,
  CLOCK,
  CONFIG,
  EVENT_STORE,
  LOG,
  MESSAGE_BUS,
  POSTGRES,
  PostgresSettings,
  RUNTIME,
  TALLY_APPS,
} from './tokens';

/** The routes every app serves beside its own (health, metrics, projections, dead letters, access, the document). */
export const runtimeControllers = [
  HealthController,
  ProjectionsController,
  MetricsController,
  DeadLettersController,
  AccessController,
  OpenApiController,
];

@Global()
@Module({})
export class RuntimeModule {
  /** `appControllers`: the controllers of the apps this process runs, for the OpenAPI document. */
  static forRoot(runtime: TallyRuntime, apps: readonly string[], appControllers: readonly Type[] = []): DynamicModule {
    const controllers = runtimeControllers;
    return {
      module: RuntimeModule,
      controllers,
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: EVENT_STORE, useValue: runtime.eventStore },
        { provide: MESSAGE_BUS, useValue: runtime.bus },
        { provide: CLOCK, useValue: () => runtime.clock() },
        { provide: CONFIG, useValue: runtime.config },
        { provide: LOG, useValue: runtime.log },
        { provide: ACCESS, useValue: runtime.access },
        {
          provide: POSTGRES,
          useValue: {
            connectionString: runtime.connectionString,
            schemaFor: (app) => runtime.schemaFor(app),
            reachable: () => runtime.postgresReachable(),
          } satisfies PostgresSettings,
        },
        Tenancy,
        { provide: Metrics, useValue: runtime.metrics },
        { provide: TALLY_APPS, useValue: apps },
        { provide: SERVED_CONTROLLERS, useValue: [...appControllers, ...controllers] },
        OpenApiDocument,
        ProjectionCatalog,
        LedgerPositionInterceptor,
        ProducerKeys,
        NatsCallers,
        { provide: APP_GUARD, useClass: AdminAuthGuard },
        { provide: APP_INTERCEPTOR, useClass: RequestTelemetryInterceptor },
        { provide: APP_INTERCEPTOR, useClass: TenantScopeInterceptor },
        { provide: APP_INTERCEPTOR, useClass: RequestSchemaInterceptor },
      ],
      exports: [
        RUNTIME,
        EVENT_STORE,
        MESSAGE_BUS,
        CLOCK,
        CONFIG,
        LOG,
        ACCESS,
        POSTGRES,
        Tenancy,
        Metrics,
        ProjectionCatalog,
        LedgerPositionInterceptor,
        ProducerKeys,
        NatsCallers,
        OpenApiDocument,
      ],
    };
  }
}
