import { AccessStore } from '@tally/shared/data-access-access';
import { EventStore, KurrentDbEventStore, PostgresEventStore } from '@tally/shared/data-access-event-store';
import { Delivery, JetStreamBus, MessageBus, PostgresBus } from '@tally/shared/data-access-messaging';
import { openPool } from '@tally/shared/data-access-pg-client';
import { EmbeddedPostgres, startEmbeddedPostgres } from '@tally/shared/data-access-postgres';
import { TieredEventStore } from '@tally/shared/data-access-archive';
import { archiveAgeWarning, archiveSettings, TallyConfig } from '@tally/shared/util-config';
import { messageOf } from '@tally/shared/util-core';
import { Logger } from '@tally/shared/util-telemetry';
import { createProcessLogger, LineSink } from './process-logger';
import { Metrics } from './metrics';
import { LedgerArchive, openLedgerArchive } from './ledger-archive';

/** What every Tally process shares: configuration, the ledger, the bus, a clock. */
export interface TallyRuntime {
  config: TallyConfig;
  /** Postgres for the apps' own schemas (and the default ledger and embedded bus). */
  connectionString: string;
  namespace: string;
  /** Tenants and administrative credentials, shared by every app. */
  access: AccessStore;
  /**
   * The ledger every app reads and appends through. With the archive on, reads across all streams span the
   * archive (positions up to the last sealed one) and the hot ledger (the rest): projections, rebuilds and
   * reconciliations need not know which tier a row is in.
   */
  eventStore: EventStore;
  /** The ledger's archive tier (TALLY_ARCHIVE not off): its store, manifest and the pool its passes use. */
  archive?: LedgerArchive;
  bus: MessageBus;
  clock: () => Date;
  /** The process's logger (pino): structured, leveled, credentials masked. */
  log: Logger;
  /** This app instance's Prometheus metrics (the bus counts its publishes into them). */
  metrics: Metrics;
  /** Schema of one app's tables: `<namespace>_<app>`. */
  schemaFor(app: 'ingestion' | 'attribution' | 'aggregation' | 'invoicing'): string;
  /** Whether Postgres answers right now (readiness). */
  postgresReachable(): Promise<boolean>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Start an embedded Postgres when DATABASE_URL is unset (the `npm start` default). */
  allowEmbeddedPostgres?: boolean;
  clock?: () => Date;
  /** Where log lines go instead of stdout (tests). */
  log?: LineSink;
}

export const openRuntime = async (config: TallyConfig, options: RuntimeOptions = {}): Promise<TallyRuntime> => {
  const log = createProcessLogger(config, options.log);
  const metrics = new Metrics();
  const namespace = config.TALLY_NAMESPACE;
  let embedded: EmbeddedPostgres | undefined;
  let connectionString = config.DATABASE_URL;
  if (!connectionString) {
    if (!options.allowEmbeddedPostgres)
      throw new Error('DATABASE_URL is required: this process does not start an embedded Postgres');
    log.info({ dataDir: config.TALLY_DATA_DIR, port: config.TALLY_EMBEDDED_PG_PORT }, 'starting embedded Postgres');
    embedded = await startEmbeddedPostgres({ dataDir: config.TALLY_DATA_DIR, port: config.TALLY_EMBEDDED_PG_PORT });
    connectionString = embedded.connectionString;
  }

  const ledgerSchema = `${namespace}_ledger`;
  const hot: EventStore = config.KURRENTDB_URL
    ? new KurrentDbEventStore({
        connectionString: config.KURRENTDB_URL,
        index: { connectionString, schema: `${namespace}_ledger_index` },
        retentionDays: config.TALLY_LATENESS_HORIZON_DAYS + 5,
      })
    : new PostgresEventStore({ connectionString, schema: ledgerSchema });
  // loadTallyConfig has refused an archive beside KurrentDB: when on, the hot ledger is Postgres.
  const settings = archiveSettings(config);
  let archive: LedgerArchive | undefined;
  try {
    await hot.init();
    if (settings.store !== 'off') {
      archive = await openLedgerArchive(settings, connectionString, ledgerSchema, log);
      const warning = archiveAgeWarning(config);
      if (warning) log.warn({ afterDays: settings.afterDays }, warning);
    }
  } catch (error) {
    await hot.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const eventStore: EventStore = archive ? new TieredEventStore(hot, archive.reader) : hot;

  const onError = (error: unknown, delivery?: Delivery) =>
    log.warn(
      {
        reason: messageOf(error),
        ...(delivery && {
          subject: delivery.subject,
          streamSequence: delivery.streamSequence,
          deliveryCount: delivery.deliveryCount,
        }),
      },
      'message handling failed',
    );
  let bus: MessageBus;
  try {
    if (config.NATS_URL) {
      bus = await JetStreamBus.connect({
        servers: config.NATS_URL,
        namespace,
        onError,
        log,
        observer: metrics.busObserver,
        duplicateWindowMs: config.TALLY_NATS_DUPLICATE_WINDOW_MS,
        replicas: config.TALLY_NATS_REPLICAS,
        user: config.NATS_USER,
        pass: config.NATS_PASSWORD,
        tls:
          config.NATS_TLS_CA_FILE || config.NATS_TLS_CERT_FILE
            ? {
                caFile: config.NATS_TLS_CA_FILE,
                certFile: config.NATS_TLS_CERT_FILE,
                keyFile: config.NATS_TLS_KEY_FILE,
              }
            : undefined,
      });
    } else {
      const postgresBus = new PostgresBus({
        connectionString,
        schema: `${namespace}_bus`,
        onError,
        log,
        observer: metrics.busObserver,
      });
      await postgresBus.init();
      bus = postgresBus;
    }
  } catch (error) {
    await eventStore.close().catch(() => undefined);
    await archive?.close();
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const access = new AccessStore({
    connectionString,
    schema: `${namespace}_access`,
    outageGraceMs: config.TALLY_API_KEY_OUTAGE_GRACE_SECONDS * 1_000,
    onError: (error) => log.warn({ reason: messageOf(error) }, 'credential store unavailable'),
  });
  try {
    await access.init(config.TALLY_TENANT);
  } catch (error) {
    await access.close();
    await bus.close().catch(() => undefined);
    await eventStore.close().catch(() => undefined);
    await archive?.close();
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  // One connection for readiness checks, apart from the pools that do the work.
  const probe = openPool({ connectionString, max: 1, connectTimeoutMs: 2_000 });

  return {
    config,
    connectionString,
    namespace,
    access,
    eventStore,
    archive,
    bus,
    clock: options.clock ?? (() => new Date()),
    log,
    metrics,
    schemaFor: (app) => `${namespace}_${app}`,
    postgresReachable: () =>
      probe
        .query('select 1')
        .then(() => true)
        .catch(() => false),
    close: async () => {
      await bus.close();
      await eventStore.close();
      await archive?.close();
      await access.close();
      await probe.end().catch(() => undefined);
      await embedded?.stop();
    },
  };
};
