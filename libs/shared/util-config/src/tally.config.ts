import {
  ConfigError,
  ConfigOf,
  tenantId,
  identifier,
  secret,
  loadConfig,
  natsServers,
  nonNegativeInteger,
  nonNegativeNumber,
  oneOf,
  port,
  positiveInteger,
  Schema,
  text,
  url,
  webhookSecrets,
} from './config';

/**
 * Seconds a sealed file waits before its rows may leave the hot ledger: more than the second for which every
 * process's archive reader trusts its last look at the manifest (ArchiveReader's manifestTtlMs). Below that, a
 * projection of another process could read a position from the hot ledger just after it was pruned there, and
 * skip it without knowing.
 */
const pruneMinAge = (raw: string): number | { error: string } => {
  const seconds = nonNegativeInteger(raw);
  if (typeof seconds === 'number' && seconds < 2)
    return {
      error:
        'expected at least 2: readers trust their look at the archive manifest for 1 s, and a row pruned sooner could be skipped by one',
    };
  return seconds;
};

/**
 * The variables every Tally process reads. The README's configuration table and the
 * docker-compose check are held to this list.
 */
export const tallySchema = {
  DATABASE_URL: {
    description:
      'Postgres for projections and the default ledger, e.g. postgres://tally@db:5432/tally. Unset in embedded mode: an embedded Postgres starts under TALLY_DATA_DIR.',
    parse: url('postgres', 'postgresql'),
  },
  NATS_URL: {
    description:
      'NATS servers with JetStream, comma-separated. Unset in embedded mode: an in-process bus backed by Postgres.',
    parse: natsServers,
  },
  NATS_USER: {
    description:
      "This app's NATS user (each app has its own, allowed only the subjects it needs; see docs/security.md).",
    parse: text,
  },
  NATS_PASSWORD: { description: 'Password of NATS_USER.', sensitive: true, parse: secret },
  NATS_TLS_CA_FILE: {
    description:
      'PEM file of the certificate authority NATS servers are verified against; set it (with tls:// in NATS_URL) for TLS.',
    parse: text,
  },
  NATS_TLS_CERT_FILE: {
    description: 'PEM client certificate, when the NATS servers ask for one (mutual TLS).',
    parse: text,
  },
  NATS_TLS_KEY_FILE: { description: 'PEM private key of NATS_TLS_CERT_FILE.', parse: text },
  KURRENTDB_URL: {
    description: 'KurrentDB/EventStoreDB connection string; when set, the ledger lives there instead of Postgres.',
    parse: url('kurrentdb', 'esdb', 'kurrentdb+discover', 'esdb+discover'),
  },
  PORT: { description: 'HTTP port (0 picks a free one).', default: '3000', parse: port },
  HOST: { description: 'Interface the HTTP server binds; 0.0.0.0 in containers.', default: '127.0.0.1', parse: text },
  TALLY_LOG_LEVEL: {
    description:
      'Least severe log level written: trace, debug (adds a line per HTTP request), info, warn, error, fatal or silent.',
    default: 'info',
    parse: oneOf('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'),
  },
  TALLY_LOG_FORMAT: {
    description:
      "json: one JSON object per line (pino), for log collectors — the distributed apps' default; pretty: readable lines — the default of `npm start`.",
    parse: oneOf('json', 'pretty'),
  },
  OTEL_EXPORTER_OTLP_ENDPOINT: {
    description:
      'OpenTelemetry collector (OTLP/HTTP, e.g. http://otel-collector:4318): traces are exported there. Unset: no traces. The SDK reads the other OTEL_* variables (OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER…) itself.',
    parse: url('http', 'https'),
  },
  TALLY_DATA_DIR: { description: 'Where embedded mode keeps its data.', default: './data', parse: text },
  TALLY_EMBEDDED_PG_PORT: {
    description: 'Port of the embedded Postgres (embedded mode only).',
    default: '54329',
    parse: port,
  },
  TALLY_ADMIN_TOKEN: {
    description:
      'The bootstrap operator credential (bearer token): creates tenants and their first admins, acts for any tenant, runs the platform operations (projections, dead letters, metrics). Embedded mode generates one under TALLY_DATA_DIR when unset.',
    sensitive: true,
    parse: secret,
  },
  TALLY_TENANT: {
    description:
      "The installation's default tenant: always exists; the operator credential acts for it unless a request names another (`Tally-Tenant`). Tenant credentials and producer keys carry their own tenant.",
    default: 'default',
    parse: tenantId,
  },
  TALLY_NAMESPACE: {
    description:
      'Prefix for Postgres schemas, NATS streams and subjects, so several installations (or test suites) share servers.',
    default: 'tally',
    parse: identifier,
  },
  TALLY_INTAKE_MAX_IN_FLIGHT_EVENTS: {
    description:
      'Events an ingestion process holds unpersisted at once; beyond it intake answers 503 with Retry-After (backpressure).',
    default: '20000',
    parse: positiveInteger,
  },
  TALLY_RATE_LIMIT_PER_SECOND: {
    description:
      'Requests a second each credential (a producer key, the admin token) may make of one process, in bursts of twice that; beyond it 429 + Retry-After. 0: no limit.',
    default: '200',
    parse: nonNegativeInteger,
  },
  TALLY_MAX_BODY_BYTES_IN_FLIGHT: {
    description:
      'Bytes of request bodies one process reads and holds at once (by Content-Length); beyond it 503 + Retry-After. Bodies are read only after the credential is checked.',
    default: '33554432',
    parse: positiveInteger,
  },
  TALLY_NATS_DUPLICATE_WINDOW_MS: {
    description: "JetStream's duplicate window for published messages (the ledger's dedup is exact regardless).",
    default: '120000',
    parse: positiveInteger,
  },
  TALLY_NATS_REPLICAS: {
    description:
      'Copies JetStream keeps of each Tally stream: 1 on a lone server, 3 on a cluster so that the loss of a node loses nothing and stops nothing.',
    default: '1',
    parse: positiveInteger,
  },
  TALLY_API_KEY_OUTAGE_GRACE_SECONDS: {
    description:
      'While Postgres is unreachable, intake keeps accepting producer keys it verified within this many seconds (from memory); a key revoked before the outage stops working within this bound. 0: refuse (503) all during an outage.',
    default: '300',
    parse: nonNegativeInteger,
  },
  TALLY_READY_MAX_BEHIND_EVENTS: {
    description:
      'Readiness (/health/ready) fails while a projection this process runs is more than this many ledger events behind (0: lag is not checked).',
    default: '10000',
    parse: nonNegativeInteger,
  },
  TALLY_ACK_WAIT_MS: {
    description:
      "How long a consumer may hold a message before it is redelivered to another (a crashed process's messages come back after this).",
    default: '30000',
    parse: positiveInteger,
  },
  TALLY_BUDGET_WEBHOOK_URL: {
    description:
      'Where budget alerts (BudgetThresholdCrossed) are POSTed, signed with TALLY_BUDGET_WEBHOOK_SECRET; unset: alerts go to NATS and the ledger only.',
    parse: url('http', 'https'),
  },
  TALLY_BUDGET_WEBHOOK_SECRET: {
    description:
      'Standard Webhooks signing secret(s) of budget webhooks: whsec_<base64>, several separated by commas while rotating (each signs every delivery).',
    sensitive: true,
    parse: webhookSecrets,
  },
  TALLY_LATENESS_HORIZON_DAYS: {
    description: 'Events older than this many days are refused.',
    default: '35',
    parse: positiveInteger,
  },
  TALLY_CATALOG: {
    description:
      'Embedded mode: meters and plans to create at start-up — a shipped catalog name (forge) or a path to a catalog JSON file.',
    parse: text,
  },
  TALLY_EXAMPLE: {
    description:
      'Embedded mode: on: the first start opens an example account (`example`) with its usage since the previous month began, so the console has something to show (with the forge catalog, loaded when TALLY_CATALOG is unset); off: start empty.',
    default: 'on',
    parse: oneOf('on', 'off'),
  },
  TALLY_EXPORT_BATCH_ROWS: {
    description:
      'Usage exports (GET /v1/exports/usage) read this many rows per cursor fetch and write them as one Parquet row group: what one export holds in memory at once.',
    default: '10000',
    parse: positiveInteger,
  },
  TALLY_INVOICE_GRACE_HOURS: {
    description:
      'How long an invoice stays draft after its period ends, absorbing late usage, before it finalizes on its own.',
    default: '24',
    parse: positiveInteger,
  },
  TALLY_PROJECTION_REBUILD_BATCH: {
    description:
      'Events per transaction while a projection rebuild fills its copies (the live subscription applies batches of 1,000): larger batches replay faster.',
    default: '10000',
    parse: positiveInteger,
  },
  TALLY_BILLING_INTERVAL_MS: {
    description:
      'How often invoicing drafts invoices for ended periods, re-rates drafts and finalizes those past their grace period.',
    default: '60000',
    parse: positiveInteger,
  },
  TALLY_INVOICE_WEBHOOK_URL: {
    description:
      'Where invoice events (InvoiceDrafted, InvoiceFinalized, CreditNoteIssued, …) are POSTed, signed with TALLY_INVOICE_WEBHOOK_SECRET; unset: NATS and the ledger only.',
    parse: url('http', 'https'),
  },
  TALLY_INVOICE_WEBHOOK_SECRET: {
    description:
      'Standard Webhooks signing secret(s) of invoice webhooks: whsec_<base64>, several separated by commas while rotating (each signs every delivery).',
    sensitive: true,
    parse: webhookSecrets,
  },
  TALLY_ARCHIVE: {
    description:
      'Where sealed ranges of the Postgres ledger go as Parquet files (docs/storage.md): off, filesystem (TALLY_ARCHIVE_DIR) or s3 (TALLY_ARCHIVE_S3_*). Unset: filesystem in embedded mode (DATABASE_URL unset), off otherwise and with KURRENTDB_URL (KurrentDB archives its own ledger; an archive with it is refused at start-up).',
    parse: oneOf('off', 'filesystem', 's3'),
  },
  TALLY_ARCHIVE_DIR: {
    description: 'The archive directory of TALLY_ARCHIVE=filesystem. Unset: TALLY_DATA_DIR/archive.',
    parse: text,
  },
  TALLY_ARCHIVE_S3_ENDPOINT: {
    description:
      'TALLY_ARCHIVE=s3: the S3-compatible endpoint, e.g. https://s3.eu-west-1.amazonaws.com or http://minio:9000 (path-style addressing).',
    parse: url('http', 'https'),
  },
  TALLY_ARCHIVE_S3_BUCKET: { description: 'TALLY_ARCHIVE=s3: the bucket (it must exist).', parse: text },
  TALLY_ARCHIVE_S3_PREFIX: {
    description: 'TALLY_ARCHIVE=s3: a folder in the bucket for this installation. Unset: TALLY_NAMESPACE.',
    parse: text,
  },
  TALLY_ARCHIVE_S3_REGION: { description: 'TALLY_ARCHIVE=s3: the region.', default: 'us-east-1', parse: text },
  TALLY_ARCHIVE_S3_ACCESS_KEY_ID: { description: 'TALLY_ARCHIVE=s3: the access key id.', parse: text },
  TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY: {
    description: 'TALLY_ARCHIVE=s3: the secret access key of TALLY_ARCHIVE_S3_ACCESS_KEY_ID.',
    sensitive: true,
    parse: text,
  },
  TALLY_ARCHIVE_AFTER_DAYS: {
    description:
      'Ledger rows recorded more than this many days ago are sealed into the archive (fractions allowed; 0: everything recorded so far). Unset: TALLY_LATENESS_HORIZON_DAYS + TALLY_INVOICE_GRACE_HOURS in whole days rounded up + 7 (43 by default); below horizon + grace a warning is logged (docs/storage.md).',
    parse: nonNegativeNumber,
  },
  TALLY_ARCHIVE_INTERVAL_SECONDS: {
    description: 'How often the attribution app seals (and prunes, if on) the ledger; the first pass runs at start.',
    default: '3600',
    parse: positiveInteger,
  },
  TALLY_ARCHIVE_PRUNE: {
    description:
      'on: sealed usage rows leave the hot ledger once their files are verified (reads span archive + hot tail); off: the archive is a copy and the ledger keeps everything.',
    default: 'off',
    parse: oneOf('on', 'off'),
  },
  TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS: {
    description:
      'A sealed file is pruned only this long after it was sealed, so that no reader that chose the hot ledger for a position (readers trust the manifest for 1 s) finds it gone; at least 2.',
    default: '3600',
    parse: pruneMinAge,
  },
} satisfies Schema;

export type TallyConfig = ConfigOf<typeof tallySchema>;

export const loadTallyConfig = (
  env: Record<string, string | undefined>,
  required: readonly (keyof TallyConfig)[] = [],
): TallyConfig => {
  const config = loadConfig(withRequired(tallySchema, required), env);
  const problems = archiveProblems(config);
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
};

/** How and when the ledger is sealed into the archive (and pruned), the settings resolved. */
export interface ArchiveSchedule {
  afterDays: number;
  intervalMs: number;
  prune: boolean;
  pruneMinAgeMs: number;
}
export type ArchiveSettings =
  | { store: 'off' }
  | ({ store: 'filesystem'; dir: string } & ArchiveSchedule)
  | ({
      store: 's3';
      s3: {
        endpoint: string;
        bucket: string;
        prefix: string;
        region: string;
        accessKeyId: string;
        secretAccessKey: string;
      };
    } & ArchiveSchedule);

/** TALLY_ARCHIVE, or its default: filesystem in embedded mode (no DATABASE_URL), off otherwise and with KurrentDB. */
const archiveStore = (config: TallyConfig): 'off' | 'filesystem' | 's3' =>
  config.TALLY_ARCHIVE ?? (config.DATABASE_URL || config.KURRENTDB_URL ? 'off' : 'filesystem');

/**
 * The default age of sealing: no row is sealed while its period can still change — late usage is accepted up to
 * the lateness horizon and a draft absorbs it through the grace — plus a week's margin.
 */
export const defaultArchiveAfterDays = (config: TallyConfig): number =>
  config.TALLY_LATENESS_HORIZON_DAYS + Math.ceil(config.TALLY_INVOICE_GRACE_HOURS / 24) + 7;

const s3Settings = [
  'TALLY_ARCHIVE_S3_ENDPOINT',
  'TALLY_ARCHIVE_S3_BUCKET',
  'TALLY_ARCHIVE_S3_ACCESS_KEY_ID',
  'TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY',
] as const;

/** Settings that contradict each other (each check of one variable alone is loadConfig's). */
const archiveProblems = (config: TallyConfig): string[] => {
  const store = archiveStore(config);
  if (store === 'off') return [];
  if (config.KURRENTDB_URL)
    return [
      `TALLY_ARCHIVE=${store} needs the Postgres ledger: with KURRENTDB_URL the ledger is KurrentDB's, which archives on its own (set TALLY_ARCHIVE=off)`,
    ];
  if (store === 's3')
    return s3Settings
      .filter((name) => !config[name])
      .map((name) => `${name} is required with TALLY_ARCHIVE=s3: ${tallySchema[name].description}`);
  return [];
};

/** The archive's settings, resolved (defaults applied); loadTallyConfig has refused contradictory ones. */
export const archiveSettings = (config: TallyConfig): ArchiveSettings => {
  const store = archiveStore(config);
  if (store === 'off') return { store };
  const schedule: ArchiveSchedule = {
    afterDays: config.TALLY_ARCHIVE_AFTER_DAYS ?? defaultArchiveAfterDays(config),
    intervalMs: config.TALLY_ARCHIVE_INTERVAL_SECONDS * 1_000,
    prune: config.TALLY_ARCHIVE_PRUNE === 'on',
    pruneMinAgeMs: config.TALLY_ARCHIVE_PRUNE_MIN_AGE_SECONDS * 1_000,
  };
  if (store === 'filesystem')
    return {
      store,
      dir: config.TALLY_ARCHIVE_DIR ?? `${config.TALLY_DATA_DIR.replace(/\/+$/, '')}/archive`,
      ...schedule,
    };
  return {
    store,
    s3: {
      endpoint: config.TALLY_ARCHIVE_S3_ENDPOINT as string,
      bucket: config.TALLY_ARCHIVE_S3_BUCKET as string,
      prefix: config.TALLY_ARCHIVE_S3_PREFIX ?? config.TALLY_NAMESPACE,
      region: config.TALLY_ARCHIVE_S3_REGION,
      accessKeyId: config.TALLY_ARCHIVE_S3_ACCESS_KEY_ID as string,
      secretAccessKey: config.TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY as string,
    },
    ...schedule,
  };
};

/**
 * Why an age of sealing below horizon + grace deserves a word at start-up (it is allowed: tests use 0). Sealing
 * goes by recorded_at, so a late event is simply appended to the hot tail and every read still spans both
 * tiers: nothing is counted wrong. But a period that can still change then has its usage in both tiers, and
 * with pruning on its rows leave the hot ledger while its invoice is still a draft.
 */
export const archiveAgeWarning = (config: TallyConfig): string | undefined => {
  const settings = archiveSettings(config);
  if (settings.store === 'off') return undefined;
  const open = config.TALLY_LATENESS_HORIZON_DAYS + config.TALLY_INVOICE_GRACE_HOURS / 24;
  return settings.afterDays < open
    ? `TALLY_ARCHIVE_AFTER_DAYS=${settings.afterDays} is below the lateness horizon + invoice grace (${open} days): usage of periods that can still change is sealed${settings.prune ? ' and pruned from the hot ledger' : ''}; reads span archive and hot tail, so counts stay exact`
    : undefined;
};

/** The schema with `required` set on the named variables (a process says which it cannot run without). */
const withRequired = <S extends Schema>(schema: S, required: readonly PropertyKey[]): S => {
  const copy = { ...schema };
  for (const name of Object.keys(copy) as (keyof S & string)[])
    copy[name] = Object.assign({}, schema[name], { required: required.includes(name) });
  return copy;
};
