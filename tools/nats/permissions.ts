import { invoicingStream } from '@tally/contracts/invoices';
import { aggregationStream, billableUsageSubject, meterQuerySubject } from '@tally/contracts/meters';
import { ingestCommandSubject, ingestionStream } from '@tally/contracts/usage';

/**
 * Which NATS subjects each Tally app may use — and nothing else: ingestion alone may publish usage,
 * attribution may only consume it, nobody but aggregation answers usage queries. Rendered into the
 * `authorization` block of a nats-server configuration (the docker-compose one, the chaos harness's
 * cluster), one user per app.
 */
export type App = 'ingestion' | 'attribution' | 'aggregation' | 'invoicing';
export const apps: readonly App[] = ['ingestion', 'attribution', 'aggregation', 'invoicing'];

interface AppNeeds {
  /** Streams it declares (creates or updates). */
  owns: readonly string[];
  /** Durable consumers it runs, by stream. */
  consumes: readonly { stream: string; durable: string }[];
  /** Subjects it publishes facts on (logical names). */
  publishes: readonly string[];
  /** Subjects it answers requests on. */
  serves: readonly string[];
  /** Subjects it sends requests to. */
  asks: readonly string[];
}

const needs: Record<App, AppNeeds> = {
  ingestion: {
    owns: [ingestionStream.name],
    consumes: [{ stream: ingestionStream.name, durable: 'ingestion_status' }],
    publishes: ['ingestion.evt.>'],
    serves: [ingestCommandSubject],
    asks: [],
  },
  attribution: {
    owns: [],
    consumes: [
      { stream: ingestionStream.name, durable: 'attribution_ledger' },
      { stream: ingestionStream.name, durable: 'attribution_corrections' },
    ],
    publishes: [],
    serves: [],
    asks: [],
  },
  aggregation: {
    owns: [aggregationStream.name],
    consumes: [{ stream: aggregationStream.name, durable: 'aggregation_budget_webhooks' }],
    publishes: ['aggregation.evt.>'],
    serves: [billableUsageSubject, meterQuerySubject],
    asks: [],
  },
  invoicing: {
    owns: [invoicingStream.name],
    consumes: [{ stream: invoicingStream.name, durable: 'invoicing_invoice_webhooks' }],
    publishes: ['invoicing.evt.>'],
    serves: [],
    asks: [billableUsageSubject],
  },
};

export interface Permissions {
  publish: string[];
  subscribe: string[];
}

/** The subjects one app may publish and subscribe to, in an installation's namespace. */
export const permissionsOf = (app: App, namespace: string): Permissions => {
  const need = needs[app];
  const stream = (name: string) => `${namespace.toUpperCase()}_${name}`;
  const subject = (name: string) => `${namespace}.${name}`;
  const dlq = stream('DLQ');
  const durables = need.consumes.map((c) => ({ stream: stream(c.stream), durable: c.durable }));
  return {
    publish: [
      '$JS.API.INFO',
      // Stream info of the streams it uses; declaring only its own and the dead-letter stream.
      ...[...new Set([...need.owns.map(stream), ...durables.map((d) => d.stream), dlq])].map(
        (s) => `$JS.API.STREAM.INFO.${s}`,
      ),
      ...[...need.owns.map(stream), dlq].flatMap((s) => [`$JS.API.STREAM.CREATE.${s}`, `$JS.API.STREAM.UPDATE.${s}`]),
      // Its own durable consumers: declare, inspect, pull, acknowledge.
      ...durables.flatMap(({ stream: s, durable }) => [
        `$JS.API.CONSUMER.INFO.${s}.${durable}`,
        `$JS.API.CONSUMER.CREATE.${s}.${durable}`,
        `$JS.API.CONSUMER.CREATE.${s}.${durable}.>`,
        `$JS.API.CONSUMER.DURABLE.CREATE.${s}.${durable}`,
        `$JS.API.CONSUMER.MSG.NEXT.${s}.${durable}`,
        `$JS.ACK.${s}.${durable}.>`,
      ]),
      // Dead letters: its own go in; any may be listed; replay needs the right to publish the original subject.
      ...durables.map(({ durable }) => subject(`dlq.${durable}`)),
      `$JS.API.DIRECT.GET.${dlq}`,
      `$JS.API.DIRECT.GET.${dlq}.>`,
      `$JS.API.STREAM.MSG.GET.${dlq}`,
      `$JS.API.STREAM.MSG.DELETE.${dlq}`,
      ...need.publishes.map(subject),
      ...need.asks.map(subject),
    ],
    subscribe: ['_INBOX.>', ...need.serves.map(subject)],
  };
};

const quoted = (subjects: readonly string[]) => `[${subjects.map((s) => `"${s}"`).join(', ')}]`;

/**
 * The nats-server `authorization` block: one user per app with its permissions (answers to requests are
 * allowed through `allow_responses`), passwords by reference (`$TALLY_NATS_<APP>_PASSWORD` in the server's
 * environment) or given. Nothing else may connect.
 */
export const authorizationBlock = (namespace: string, password: (app: App) => string): string =>
  [
    'authorization {',
    '  users: [',
    ...apps.map((app) => {
      const p = permissionsOf(app, namespace);
      return `    { user: "${app}", password: ${password(app)}, permissions: { publish: { allow: ${quoted(p.publish)} }, subscribe: { allow: ${quoted(p.subscribe)} }, allow_responses: true } }`;
    }),
    '  ]',
    '}',
  ].join('\n');

/**
 * The docker-compose NATS server's configuration: JetStream, monitoring, and the per-app users, their
 * passwords read from the server's environment (`$TALLY_NATS_INGESTION_PASSWORD`, …) — none committed.
 * `deploy/nats.conf` is this text; tools/docker-compose.spec.ts holds the two together.
 */
export const composeNatsConfig = (): string =>
  [
    '# Generated from tools/nats/permissions.ts (npm run nats:config): do not edit by hand.',
    'jetstream { store_dir: "/data" }',
    'http_port: 8222',
    authorizationBlock('tally', (app) => `$TALLY_NATS_${app.toUpperCase()}_PASSWORD`),
    '',
  ].join('\n');
