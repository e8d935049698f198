import { sleep } from '@tally/shared/util-core';
import { AppName } from './apps';

/** What the load and the probes send through: one account owns every subject. */
export const bench = {
  account: 'bench',
  source: '//bench/freshness',
  /** The load: SUM of data.units over events of this type, from `loadSubjects` subjects. */
  loadType: 'bench.usage',
  loadMeter: 'bench_units',
  loadSubjects: 100,
  /** The probes: their own type and meter, grouped by probe id, so that each one's value is a row of its own. */
  probeType: 'bench.probe',
  probeMeter: 'bench_probe',
  probeSubject: 'bench-probe',
} as const;

export const loadSubject = (n: number) => `bench-load-${n % bench.loadSubjects}`;

type Call = (app: AppName, method: string, path: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/** An admin call against the app that serves the route, with the operator token. */
export const adminCaller =
  (urlOf: Record<AppName, string>, adminToken: string): Call =>
  async (app, method, path, body) => {
    const response = await fetch(`${urlOf[app]}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

/**
 * Until answered 2xx (or 409: made by an earlier try): what one app just created reaches another's registry
 * through the ledger a moment later (a subscription's plan, a subject's account).
 */
const ok = async (call: Call, app: AppName, method: string, path: string, body?: unknown): Promise<unknown> => {
  for (let attempt = 0; ; attempt++) {
    const answer = await call(app, method, path, body).catch((error: unknown) => ({ status: 0, body: String(error) }));
    if ((answer.status >= 200 && answer.status < 300) || answer.status === 409) return answer.body;
    if (attempt >= 60) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await sleep(500);
  }
};

/**
 * As an operator sets up a customer: two meters, an unpriced plan, an account subscribed to it since yesterday,
 * the subjects it owns, and a producer key. Answered once every projection has applied it all, so that the first
 * event is attributed at once rather than parked and moved later. The producer key.
 */
export const setUp = async (call: Call, apps: readonly AppName[]): Promise<string> => {
  await ok(call, 'aggregation', 'POST', '/api/v1/meters', {
    slug: bench.loadMeter,
    eventType: bench.loadType,
    aggregation: 'SUM',
    valueProperty: '$.units',
  });
  await ok(call, 'aggregation', 'POST', '/api/v1/meters', {
    slug: bench.probeMeter,
    eventType: bench.probeType,
    aggregation: 'SUM',
    valueProperty: '$.value',
    groupBy: { probe: '$.probe' },
  });
  await ok(call, 'invoicing', 'POST', '/v1/plans', { id: 'bench', name: 'Bench', currency: 'USD' });
  const account = bench.account;
  await ok(call, 'attribution', 'POST', '/v1/accounts', {
    id: account,
    name: 'Bench',
    currency: 'USD',
    timezone: 'UTC',
  });
  const since = new Date(Date.now() - 86_400_000).toISOString();
  await ok(call, 'attribution', 'POST', '/v1/subscriptions', {
    id: `${account}-sub`,
    accountId: account,
    planId: 'bench',
    startsAt: since,
  });
  const subjects = [bench.probeSubject, ...Array.from({ length: bench.loadSubjects }, (_, n) => loadSubject(n))];
  for (const subject of subjects)
    await ok(call, 'attribution', 'PUT', `/v1/subjects/${subject}`, { accountId: account, effectiveFrom: since });
  const { key } = (await ok(call, 'ingestion', 'POST', '/v1/api-keys', {
    name: 'freshness benchmark',
    allowedSources: ['//bench/*'],
  })) as { key: string };
  for (const app of apps) await caughtUp(call, app);
  return key;
};

/** Every projection the app runs has applied the whole ledger (the registry the set-up just wrote). */
export const caughtUp = async (call: Call, app: AppName): Promise<void> => {
  for (let attempt = 0; ; attempt++) {
    const { body } = await call(app, 'GET', '/v1/admin/projections');
    const projections = (body as { projections?: { behind: number }[] }).projections ?? [];
    if (projections.every((p) => p.behind === 0)) return;
    if (attempt >= 120) throw new Error(`${app}: its projections did not catch up with the set-up in 60 s`);
    await sleep(500);
  }
};
