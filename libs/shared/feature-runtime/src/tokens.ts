import { Logger } from '@tally/shared/util-telemetry';

/**
 * Dependency-injection tokens. A class asks for the ports it uses — the ledger, the bus, the clock, the
 * configuration — so its constructor says what it depends on. RUNTIME (all of them at once) is for
 * composition roots only: the modules that wire a context, and the start-up code.
 */
export const RUNTIME = Symbol('TallyRuntime');
/** DI token of the names of the apps this process runs. */
export const TALLY_APPS = Symbol('TallyApps');
/** The ledger: an EventStore. */
export const EVENT_STORE = Symbol('EventStore');
/** The bus: a MessageBus (JetStream, or the embedded Postgres bus). */
export const MESSAGE_BUS = Symbol('MessageBus');
/** The time: a Clock (tests set it). */
export const CLOCK = Symbol('Clock');
/** The validated configuration: a TallyConfig. */
export const CONFIG = Symbol('TallyConfig');
/** The process's logger (structured, leveled, credentials masked): a Log. */
export const LOG = Symbol('Log');
/** Tenants and administrative credentials: an AccessStore. */
export const ACCESS = Symbol('AccessStore');
/** Postgres as the apps reach it: connection string, schemas, reachability (PostgresSettings). */
export const POSTGRES = Symbol('PostgresSettings');

export type Clock = () => Date;
export type Log = Logger;
export interface PostgresSettings {
  connectionString: string;
  /** Schema of one app's tables: `<namespace>_<app>`. */
  schemaFor(app: 'ingestion' | 'attribution' | 'aggregation' | 'invoicing'): string;
  reachable(): Promise<boolean>;
}
