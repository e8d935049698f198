import {
  ConfigOf,
  tenantId,
  identifier,
  secret,
  loadConfig,
  natsServers,
  nonNegativeInteger,
  oneOf,
  port,
  positiveInteger,
  Schema,
  text,
  url,
  webhookSecrets,
} from './config';

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
} satisfies Schema;

export type TallyConfig = ConfigOf<typeof tallySchema>;

export const loadTallyConfig = (
  env: Record<string, string | undefined>,
  required: readonly (keyof TallyConfig)[] = [],
): TallyConfig => loadConfig(withRequired(tallySchema, required), env);

/** The schema with `required` set on the named variables (a process says which it cannot run without). */
const withRequired = <S extends Schema>(schema: S, required: readonly PropertyKey[]): S => {
  const copy = { ...schema };
  for (const name of Object.keys(copy) as (keyof S & string)[])
    copy[name] = Object.assign({}, schema[name], { required: required.includes(name) });
  return copy;
};
