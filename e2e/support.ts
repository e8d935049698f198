import { AggregationModule } from '@tally/aggregation/feature-usage';
import { AttributionModule } from '@tally/attribution/feature-attribution';
import { IngestionModule } from '@tally/ingestion/feature-intake';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { deleteNatsStreams, dropSchemas, testDatabaseUrl, testNatsUrl } from '@tally/shared/testing';
import { EventStore, RecordedEvent } from '@tally/shared/data-access-event-store';
import { RunningTally, startTally } from '@tally/shared/feature-runtime';

export const appModules = {
  ingestion: () => IngestionModule.register(),
  attribution: () => AttributionModule.register(),
  aggregation: () => AggregationModule.register(),
  invoicing: () => InvoicingModule.register(),
} as const;

export type AppName = keyof typeof appModules;

/** Starts one app the way its main.ts does (distributed mode), on a free port, in the suite's namespace. */
/** The admin token every test app is started with. */
export const adminToken = 'test-admin-token-0123456789abcdef';

export const startApp = (
  app: AppName,
  namespace: string,
  env: Record<string, string> = {},
  clock?: () => Date,
  /** Where the app's log lines go as well (a test that reads them); printed too with TALLY_TEST_LOG. */
  log?: (line: string) => void,
): Promise<RunningTally> =>
  startTally({
    apps: [app],
    modules: [appModules[app]()],
    required: ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'],
    env: {
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      TALLY_NAMESPACE: namespace,
      PORT: '0',
      TALLY_ADMIN_TOKEN: adminToken,
      ...env,
    },
    clock,
    log: (line) => {
      log?.(line);
      if (process.env.TALLY_TEST_LOG) console.log(line);
    },
  });

export const deleteStreams = deleteNatsStreams;

/** A JSON request; authenticated as the admin unless another bearer token (a producer key) is given, or null for none. */
export const http = async (
  method: string,
  url: string,
  body?: unknown,
  contentType = 'application/json',
  token: string | null = adminToken,
) => {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: text ? JSON.parse(text) : undefined,
  };
};

export const usageEvent = (id: string, subject: string, time = new Date().toISOString()) => ({
  specversion: '1.0',
  id,
  source: '//fn-runtime/eu-1',
  type: 'fn.invocation',
  subject,
  time,
  data: { gbSeconds: '0.5' },
});

/** Creates a producer API key through ingestion's admin endpoint. */
export const createProducerKey = async (ingestionUrl: string, allowedSources: string[] = ['*']): Promise<string> => {
  const created = await http('POST', `${ingestionUrl}/v1/api-keys`, { name: 'test producer', allowedSources });
  if (created.status !== 201) throw new Error(`could not create an API key: ${JSON.stringify(created.body)}`);
  return created.body.key;
};

/** Every ledger event of these types, paging through readAll. */
export const ledgerEvents = async (store: EventStore, eventTypes: string[]): Promise<RecordedEvent[]> => {
  const all: RecordedEvent[] = [];
  for (let page = await store.readAll({ eventTypes, maxCount: 5_000 }); page.length > 0;) {
    all.push(...page);
    page = await store.readAll({ eventTypes, after: page[page.length - 1].globalPosition, maxCount: 5_000 });
  }
  return all;
};

/** An account that pays: a plan in its currency (invoicing), the account and a running subscription (attribution). */
export const openPayingAccount = async (
  urls: { invoicing: string; attribution: string },
  accountId: string,
  currency = 'USD',
) => {
  const planId = `payg-${currency.toLowerCase()}`;
  const plan = await http('POST', `${urls.invoicing}/v1/plans`, { id: planId, name: 'Pay as you go', currency });
  const account = await http('POST', `${urls.attribution}/v1/accounts`, {
    id: accountId,
    name: accountId,
    currency,
    timezone: 'UTC',
  });
  const subscription = await http('POST', `${urls.attribution}/v1/subscriptions`, {
    id: `sub-${accountId}`,
    accountId,
    planId,
    startsAt: '2026-01-01T00:00:00Z',
  });
  for (const [what, answer] of [
    ['plan', plan],
    ['account', account],
    ['subscription', subscription],
  ] as const) {
    if (answer.status >= 300) throw new Error(`could not create the ${what}: ${JSON.stringify(answer.body)}`);
  }
};

/** The four apps, each its own Nest application and HTTP server, on one namespace (attribution first: it owns the ledger writer). */
export const startAllApps = async (
  namespace: string,
  env: Partial<Record<AppName, Record<string, string>>> = {},
): Promise<Record<AppName, RunningTally>> => {
  const apps = {} as Record<AppName, RunningTally>;
  for (const app of ['attribution', 'aggregation', 'ingestion', 'invoicing'] as const)
    apps[app] = await startApp(app, namespace, env[app]);
  return apps;
};

/** Closes what started and removes the namespace's streams and schemas. */
export const stopAllApps = async (apps: Partial<Record<AppName, RunningTally>>, namespace: string): Promise<void> => {
  for (const app of Object.values(apps)) await app?.close();
  await deleteNatsStreams(namespace);
  await dropSchemas(namespace);
};
