import { FactoryProvider, InjectionToken } from '@nestjs/common';
import { DataSource, MigrationInterface } from 'typeorm';
import { openAppDataSource, Projection, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { RUNTIME } from './tokens';
import { TallyRuntime } from './runtime';

/** Provides an app's TypeORM DataSource on its own schema, migrated. The owning module destroys it on shutdown. */
export const appDataSourceProvider = (
  token: symbol,
  app: Parameters<TallyRuntime['schemaFor']>[0],
  migrations: (new () => MigrationInterface)[],
): FactoryProvider => ({
  provide: token,
  inject: [RUNTIME],
  useFactory: (runtime: TallyRuntime) => openAppDataSource({ connectionString: runtime.connectionString, schema: runtime.schemaFor(app), migrations }),
});

/** Provides a ProjectionRunner for one of an app's projections, on the app's DataSource and schema. */
export const projectionRunnerProvider = <Deps extends unknown[]>(
  token: symbol,
  app: Parameters<TallyRuntime['schemaFor']>[0],
  dataSourceToken: symbol,
  inject: InjectionToken[],
  projection: (runtime: TallyRuntime, ...deps: Deps) => Projection,
): FactoryProvider => ({
  provide: token,
  inject: [RUNTIME, dataSourceToken, ...inject],
  useFactory: (runtime: TallyRuntime, db: DataSource, ...deps: Deps) => {
    const definition = projection(runtime, ...deps);
    return new ProjectionRunner(definition, db, runtime.eventStore, {
      connectionString: runtime.connectionString,
      schema: runtime.schemaFor(app),
      onError: (error) => runtime.log(`[${app}] projection ${definition.name}: ${String((error as Error)?.message ?? error)}`),
    });
  },
});
