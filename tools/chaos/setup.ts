import { sleep } from '@tally/shared/util-core';
import { admin } from './checks';
import { Cluster } from './cluster';

/** Unit prices of the chaos plan (USD): what the invoices are checked against, by hand. */
export const prices = { gbSecond: '0.000025', invocation: '0.0000002' } as const;

export interface Setup {
  apiKey: string;
  /** subject → account */
  subjects: Map<string, string>;
  period: { label: string; from: Date; to: Date };
  /** Usage times are drawn from here (inside the period and the lateness horizon). */
  usageFrom: Date;
  usageTo: Date;
}

/** Retries an admin call until it answers 2xx (the registry may take a moment to see what was just created). */
const ok = async (url: string, path: string, body?: unknown, method = 'POST') => {
  for (let attempt = 0; ; attempt++) {
    const answer = await admin(url, path, { method, body }).catch((error) => ({ status: 0, body: String(error) }));
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    if (answer.status === 409) return answer.body; // created by an earlier attempt
    if (attempt > 60) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
    await sleep(500);
  }
};

/**
 * Meters, a plan, four accounts with subscriptions and two subjects each, and a producer key. Usage is
 * for last month (UTC), which has ended, so it can be invoiced at the end of the run.
 */
export const setUp = async (cluster: Cluster, now = new Date()): Promise<Setup> => {
  const [ingestion] = cluster.of('ingestion');
  const [attribution] = cluster.of('attribution');
  const [aggregation] = cluster.of('aggregation');
  const [invoicing] = cluster.of('invoicing');
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const label = from.toISOString().slice(0, 7);
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)).toISOString();

  await ok(aggregation.url, '/api/v1/meters', {
    slug: 'gb_seconds',
    eventType: 'fn.invocation',
    aggregation: 'SUM',
    valueProperty: '$.gbSeconds',
  });
  await ok(aggregation.url, '/api/v1/meters', {
    slug: 'invocations',
    eventType: 'fn.invocation',
    aggregation: 'COUNT',
  });
  await ok(invoicing.url, '/v1/plans', {
    id: 'chaos',
    name: 'Chaos',
    currency: 'USD',
    charges: [
      { meter: 'gb_seconds', model: 'unit', unitPrice: prices.gbSecond },
      { meter: 'invocations', model: 'unit', unitPrice: prices.invocation },
    ],
  });
  const subjects = new Map<string, string>();
  for (const account of ['acme', 'globex', 'initech', 'umbrella']) {
    await ok(attribution.url, '/v1/accounts', { id: account, name: account, currency: 'USD', timezone: 'UTC' });
    await ok(attribution.url, '/v1/subscriptions', {
      id: `sub-${account}`,
      accountId: account,
      planId: 'chaos',
      startsAt: since,
    });
    for (const n of [1, 2]) {
      await ok(attribution.url, `/v1/subjects/${account}-fn-${n}`, { accountId: account, effectiveFrom: since }, 'PUT');
      subjects.set(`${account}-fn-${n}`, account);
    }
  }
  const { key } = await ok(ingestion.url, '/v1/api-keys', { name: 'chaos producer', allowedSources: ['*'] });
  // Every projection has applied the registry before the first event (else the first usage is parked, then
  // re-attributed: correct, but not the clean start a run compares against).
  for (const instance of cluster.instances) {
    for (let attempt = 0; ; attempt++) {
      const { body } = await admin(instance.url, '/v1/admin/projections');
      if ((body.projections as { behind: number; status: string }[]).every((p) => p.behind === 0)) break;
      if (attempt > 120) throw new Error(`${instance.name}: projections did not catch up with the set-up`);
      await sleep(500);
    }
  }
  for (const account of new Set(subjects.values()))
    await ok(aggregation.url, `/v1/accounts/${account}/usage?period=${label}`, undefined, 'GET');
  // Inside the 35-day lateness horizon, whatever the day of the month.
  const usageFrom = new Date(Math.max(from.getTime(), now.getTime() - 34 * 86_400_000));
  return { apiKey: key, subjects, period: { label, from, to }, usageFrom, usageTo: new Date(to.getTime() - 60_000) };
};
