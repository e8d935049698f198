import { FactoryProvider } from '@nestjs/common';
import { DataSource, MigrationInterface } from 'typeorm';
import { openAppDataSource, ProjectionDefinition, ProjectionRunner } from '@tally/shared/data-access-postgres';
import { RUNTIME } from './tokens';
import { TallyRuntime } from './runtime';
import { messageOf } from '@tally/shared/util-core';

/** Provides an app's TypeORM DataSource on its own schema, migrated. The owning module destroys it on shutdown. */
export const appDataSourceProvider = (
  token: symbol,
  app: Parameters<TallyRuntime['schemaFor']>[0],
  migrations: (new () => MigrationInterface)[],
): FactoryProvider => ({
  provide: token,
  inject: [RUNTIME],
  useFactory: (runtime: TallyRuntime) =>
    openAppDataSource({
      connectionString: runtime.connectionString,
      schema: runtime.schemaFor(app),
      migrations,
      log: runtime.log,
    }),
});

/** Provides a ProjectionRunner for one of an app's projections, on the app's DataSource and schema. */
export const projectionRunnerProvider = (
  token: symbol,
  app: Parameters<TallyRuntime['schemaFor']>[0],
  dataSourceToken: symbol,
  definition: (runtime: TallyRuntime) => ProjectionDefinition,
): FactoryProvider => ({
  provide: token,
  inject: [RUNTIME, dataSourceToken],
  useFactory: (runtime: TallyRuntime, db: DataSource) => {
    const runner = new ProjectionRunner(definition(runtime), db, runtime.eventStore, {
      connectionString: runtime.connectionString,
      schema: runtime.schemaFor(app),
      onApplied: runtime.metrics.projectionApplied,
      rebuildBatchSize: runtime.config.TALLY_PROJECTION_REBUILD_BATCH,
      onError: (error) =>
        runtime.log.warn({ app, projection: runner.projection.name, reason: messageOf(error) }, 'projection failing'),
    });
    return runner;
  },
});
