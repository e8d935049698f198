import { parse as parseLossless } from 'lossless-json';
import { ExactDecimal, messageOf } from '@tally/shared/util-core';
import { App, chaosAdminToken, chaosNamespace, Cluster } from './cluster';
import { Producer } from './producer';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The projection each app leads; where failover is measured. */
export const mainProjection: Record<App, string> = {
  ingestion: 'ingestion_event_status',
  attribution: 'attribution_registry',
  aggregation: 'aggregation_usage_rollup',
  invoicing: 'invoicing_invoices',
};

export const admin = async (url: string, path: string, init: { method?: string; body?: unknown } = {}) => {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${chaosAdminToken}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
};

/** A JSON answer with every number as its text (the OpenMeter query writes exact decimals as JSON numbers). */
const exactJson = (text: string): unknown => parseLossless(text, null, (digits) => digits);

const same = (actual: unknown, expected: ExactDecimal): boolean =>
  typeof actual === 'string' && new ExactDecimal(actual).equals(expected);

/**
 * Every read path, compared with what the producer was told was accepted: the ledger (each event exactly
 * once, attributed), the rollups through both aggregation instances (per account: count and exact sum; the
 * meter query's grand total), every event's status, no dead letter, no stalled consumer, and exactly one
 * running writer per projection across the two instances of its app.
 */
export const checkReadPaths = async (
  cluster: Cluster,
  producer: Producer,
  period: { label: string; from: Date; to: Date },
): Promise<Check[]> => {
  const checks: Check[] = [];
  const expected = producer.total();
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const guarded = async (name: string, check: () => Promise<void>) => {
    try {
      await check();
    } catch (error) {
      add(name, false, `could not check: ${messageOf(error)}`);
    }
  };

  await guarded('ledger', async () => {
    // Each usage's attribution where it ended: the ledger writer may park usage its registry view does not know
    // yet, and the registry projection then re-attributes it (UsageReattributed) — by design, not a loss.
    const [row] = await cluster.postgres.query<{ n: number; ids: number; parked: number }>(
      `with recorded as (select count(*)::int as n, count(distinct data->>'eventId')::int as ids
                           from "${chaosNamespace}_ledger".events where event_type = 'UsageRecorded'),
            latest as (select distinct on (data->>'usageId') coalesce(data->'next', data->'attribution')->>'status' as status
                         from "${chaosNamespace}_ledger".events where event_type in ('UsageRecorded', 'UsageReattributed')
                        order by data->>'usageId', global_position desc)
       select n, ids, (select count(*)::int from latest where status <> 'attributed') as parked from recorded`,
    );
    add(
      'ledger',
      row.n === expected.events && row.ids === row.n && row.parked === 0,
      `${row.n} UsageRecorded (${row.ids} distinct, ${row.parked} left parked) of ${expected.events} acknowledged`,
    );
  });

  for (const instance of cluster.of('aggregation')) {
    await guarded(`rollups via ${instance.name}`, async () => {
      const wrong: string[] = [];
      for (const [account, usage] of producer.expected()) {
        const answer = await admin(instance.url, `/v1/accounts/${account}/usage?period=${period.label}`);
        const meter = (slug: string) => answer.body?.meters?.find((m: { slug: string }) => m.slug === slug)?.total;
        if (
          !same(meter('gb_seconds'), usage.gbSeconds) ||
          !same(meter('invocations'), new ExactDecimal(usage.events))
        ) {
          wrong.push(
            `${account}: ${meter('invocations')} events / ${meter('gb_seconds')} GB-s, owed ${usage.events} / ${usage.gbSeconds.toFixed()}`,
          );
        }
      }
      // OpenMeter's `to` is inclusive: the period ends the millisecond before the next one begins.
      const lastInstant = new Date(period.to.getTime() - 1).toISOString();
      const query = await admin(
        instance.url,
        `/api/v1/meters/gb_seconds/query?from=${period.from.toISOString()}&to=${lastInstant}`,
      );
      const total = (exactJson(query.text) as { data?: { value?: string }[] } | undefined)?.data?.[0]?.value;
      if (!same(total, expected.gbSeconds))
        wrong.push(`meter query total ${total}, owed ${expected.gbSeconds.toFixed()}`);
      add(
        `rollups via ${instance.name}`,
        wrong.length === 0,
        wrong.join('; ') ||
          `${producer.expected().size} accounts and the meter query exact (${expected.gbSeconds.toFixed()} GB-s)`,
      );
    });
  }

  await guarded('event status', async () => {
    const [row] = await cluster.postgres.query<{ recorded: number; accepted: number }>(
      `select count(*) filter (where recorded_at is not null and current = 'attributed')::int as recorded, count(*) filter (where accepted_at is not null)::int as accepted
         from "${chaosNamespace}_ingestion".event_status`,
    );
    add(
      'event status',
      row.recorded === expected.events && row.accepted === expected.events,
      `${row.accepted} accepted, ${row.recorded} recorded and attributed, of ${expected.events}`,
    );
  });

  await guarded('dead letters', async () => {
    const letters = (await admin(cluster.instances[0].url, '/v1/admin/dead-letters')).body.deadLetters as unknown[];
    add('dead letters', letters.length === 0, `${letters.length} in the store`);
  });

  await guarded('one writer each', async () => {
    const problems: string[] = [];
    const stalled: string[] = [];
    for (const app of ['ingestion', 'attribution', 'aggregation', 'invoicing'] as const) {
      const views = await Promise.all(cluster.of(app).map((i) => admin(i.url, '/v1/admin/projections')));
      const names = new Set(views.flatMap((v) => (v.body.projections as { name: string }[]).map((p) => p.name)));
      for (const name of names) {
        const running = views.filter((v) =>
          v.body.projections.some((p: { name: string; status: string }) => p.name === name && p.status === 'running'),
        ).length;
        if (running !== 1) problems.push(`${name}: ${running} running`);
      }
      for (const instance of cluster.of(app)) {
        const consumers = (await admin(instance.url, '/v1/admin/consumers')).body.consumers as {
          durable: string;
          state: string;
        }[];
        stalled.push(
          ...consumers.filter((c) => c.state !== 'running').map((c) => `${instance.name}/${c.durable} ${c.state}`),
        );
      }
    }
    add('one writer each', problems.length === 0, problems.join('; ') || 'every projection: one running, one standby');
    add('consumers running', stalled.length === 0, stalled.join('; ') || 'none stalled');
  });
  return checks;
};
