import { FactoryProvider } from '@nestjs/common';
import { MigrationInterface } from 'typeorm';
import { openAppDataSource } from '@tally/shared/data-access-postgres';
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
