/**
 * Billing benchmark: one billing run over S subscriptions × M meters, by the real aggregation and invoicing
 * apps (distributed mode: Postgres ledger, NATS request/reply between them), with a controllable clock.
 *  1. the ledger is seeded straight through the event store (meters, a plan, accounts with a subscription
 *     each, attributed usage in the previous calendar month), both apps drain it into their projections;
 *  2. first run (`POST /v1/admin/billing-runs`, clock on the 1st of this month, 06:00Z): drafts S invoices;
 *  3. second run (clock past every zone's period end + the 24 h grace): finalizes them;
 *  4. third run: nothing left to do (the fixed cost of a pass), twice more;
 *  5. where the time goes: the runs' billable-usage requests replayed against aggregation on their own,
 *     and the invoice-stream reads on their own, beside the raw limits.
 * Raw limits measured in the same run: a billing run does, per subscription, one read of the invoice's stream,
 * one usage request to aggregation (NATS request/reply, answered from the rollups) and one ledger append (the
 * drafted or finalized invoice, to its own stream) — since issue 18 batched with the other subscriptions' in flight
 * (docs/invoicing.md, "A billing run in batches"). Raw: sequential NATS round trips with a responder that does
 * nothing, sequential one-event appends to a new stream each (the floor of one invoice at a time), and the same
 * appends 256 to one transaction (the floor of the batched run's appends).
 * `--cpu-profile FILE`: a V8 CPU profile of the process (both apps) over the two timed runs.
 *   npm run bench:billing [-- --subscriptions 10000 --meters 5 --events-per-meter 2 --raw 5000 --age-months 0]
 * `--age-months A`: every subscription started A months before the billed month, its A earlier periods drafted and
 * finalized by an untimed catch-up run first (no usage in them): a month-end run then re-rates A finalized periods
 * per invoice — what a subscription's age costs (issue 18: it must not grow with it). `--age-usage hourly`: those
 * earlier periods had usage in every hour, every meter (their hourly buckets written into meter_hours before the
 * catch-up run, so the finalized invoices already hold it and the month-end re-rating finds nothing new): the
 * re-rating then reads ≈ 720 buckets per meter and earlier period.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import { AggregationModule } from '@tally/aggregation/feature-usage';
import {
  accountOpenedType,
  AccountOpenedV1,
  accountStream,
  subscriptionStartedType,
  SubscriptionStartedV1,
} from '@tally/contracts/accounts';
import { invoiceDraftedType, invoiceStream, UsageLineV1 } from '@tally/contracts/invoices';
import {
  BillableUsageRequestV1,
  billableUsageSubject,
  BillableUsageReplyV1,
  meterCreatedType,
  MeterCreatedV1,
  meterStream,
} from '@tally/contracts/meters';
import { ChargeV1, planCreatedType, PlanCreatedV1, planStream } from '@tally/contracts/plans';
import { accountUsageStream, usageLedgerId, usageRecordedType, UsageRecordedV1 } from '@tally/contracts/usage';
import { InvoicingModule } from '@tally/invoicing/feature-billing';
import { NewEvent, PostgresEventStore, StreamAppend } from '@tally/shared/data-access-event-store';
import { decodeJson, encodeJson, JetStreamBus } from '@tally/shared/data-access-messaging';
import { RunningTally, startTally } from '@tally/shared/feature-runtime';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { billingPeriodAt, ExactDecimal } from '@tally/shared/util-core';
import { numberArg, reportResult, runBenchmark, stringArg } from './bench-support';

const subscriptions = numberArg('subscriptions', 10_000);
const meters = numberArg('meters', 5);
const eventsPerMeter = numberArg('events-per-meter', 2);
const rawRoundTrips = numberArg('raw', 5_000);
const ageMonths = numberArg('age-months', 0);
const ageUsage = stringArg('age-usage') ?? 'none';
if (ageUsage !== 'none' && ageUsage !== 'hourly') throw new Error(`--age-usage is none or hourly, not ${ageUsage}`);
const namespace = uniqueName('benchbill');
const tenant = 'default';
const adminToken = `bench-admin-${namespace}-0123456789`;
const env = {
  DATABASE_URL: testDatabaseUrl(),
  NATS_URL: testNatsUrl(),
  TALLY_NAMESPACE: namespace,
  PORT: '0',
  TALLY_ADMIN_TOKEN: adminToken,
  // The billing clock runs only when asked: each run below is one timed POST.
  TALLY_BILLING_INTERVAL_MS: '3600000',
};
const zones = ['UTC', 'Europe/Berlin', 'Australia/Sydney'];

// The previous calendar month (UTC) is billed; the clock moves inside this one.
const today = new Date();
const month = (offset: number, day: number, hour = 0) =>
  new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() + offset, day, hour));
const previousMonthStart = month(-1, 1);
const billedLabel = previousMonthStart.toISOString().slice(0, 7);
/** Where every subscription starts: the billed month, or `--age-months` before it. */
const subscriptionsStart = month(-1 - ageMonths, 1);
/** Every period before the billed month ended, and its grace too (the latest end, UTC's, + 24 h < the 3rd at noon). */
const catchUpAt = month(-1, 3, 12);
// Every previous-month period has ended by then (Sydney's on the last day 13:00Z, Berlin's 22:00/23:00Z, UTC's on the
// 1st 00:00Z) and none of their 24 h graces has (the earliest, Sydney's, ends on the 1st at 13:00Z): the first run
// drafts only, the second finalizes (a run that finds a grace already over drafts and finalizes at once).
const firstRunAt = month(0, 1, 6);
// Latest period end (UTC, the 1st 00:00Z) + 24 h grace = the 2nd 00:00Z: long past on the 3rd at noon.
const secondRunAt = month(0, 3, 12);
let now = firstRunAt;
const clock = () => now;

const accountId = (i: number) => `acct${String(i).padStart(6, '0')}`;
const subscriptionId = (i: number) => `sub${String(i).padStart(6, '0')}`;
const zoneOf = (i: number) => zones[i % zones.length];
const slug = (k: number) => `bench-m${k}`;
const planId = 'bench-std';

/** Unit charges, one per meter: every other one per app with a free allowance, the rest for the subscription as a whole. */
const charges: ChargeV1[] = Array.from({ length: meters }, (_, k) => ({
  meter: slug(k),
  model: 'unit',
  per: k % 2 === 0 ? 'app' : null,
  allowance: k % 2 === 0 ? String(5 * (k + 1)) : '0',
  unitPrice: ['0.01', '0.002', '0.5', '0.0001', '0.25'][k % 5],
  tiers: null,
  packageSize: null,
  packagePrice: null,
  description: null,
}));
/**
 * Each event of meter k reads 10·(k+1); every subscription uses the same, so every invoice has the same total.
 * Default (5 meters, 2 events each): m0 per app 20 − 5 free = 15 × 0.01 = 0.15; m1 40 × 0.002 = 0.08;
 * m2 per app 60 − 15 = 45 × 0.5 = 22.5; m3 80 × 0.0001 = 0.008; m4 per app 100 − 25 = 75 × 0.25 = 18.75;
 * 41.488 → 41.49. `--meters 0` gives a plan without charges: the run then asks aggregation nothing.
 */
const reading = (k: number) => String(10 * (k + 1));
const expectedTotal = charges
  .reduce((sum, c, k) => {
    const used = new ExactDecimal(reading(k)).times(eventsPerMeter);
    return sum.plus(ExactDecimal.max(0, used.minus(c.allowance)).times(c.unitPrice ?? '0'));
  }, new ExactDecimal(0))
  // The invoice's one rounding: half-even to cents.
  .toDecimalPlaces(2, ExactDecimal.ROUND_HALF_EVEN)
  .toFixed(2);

const rate = (count: number, ms: number) => count / (ms / 1_000);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** node:http rather than fetch: a billing run may answer after more than fetch's 300 s header timeout. */
const call = (method: string, url: string): Promise<{ status: number; body: Record<string, unknown> }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: { authorization: `Bearer ${adminToken}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });

const ok = async (method: string, url: string) => {
  const answer = await call(method, url);
  if (answer.status >= 300) throw new Error(`${method} ${url}: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
};

/** Raw (a): sequential request/reply round trips through nats-server with an echo responder on another connection. */
const rawNatsRoundTrips = async (): Promise<number> => {
  const server = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
  const client = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
  try {
    const serving = await server.serveRequests('bench.qry.echo.v1', 'bench_echo', async (request) => ({
      data: request.data,
    }));
    // About the size of a billable-usage request.
    const payload = encodeJson({
      tenant,
      accountId: accountId(1),
      intervals: [{ from: previousMonthStart.toISOString(), to: month(0, 1).toISOString() }],
      meters: charges.map((c) => ({ meter: c.meter, per: c.per })),
    });
    for (let i = 0; i < 200; i++) await client.request('bench.qry.echo.v1', payload); // warm-up
    const started = performance.now();
    for (let i = 0; i < rawRoundTrips; i++) await client.request('bench.qry.echo.v1', payload);
    const result = rate(rawRoundTrips, performance.now() - started);
    await serving.stop();
    return result;
  } finally {
    await client.close();
    await server.close();
  }
};

/** An invoice-sized document (five usage lines), for the raw append. */
const sampleInvoice = () => {
  const segment = { from: previousMonthStart.toISOString(), to: month(0, 1).toISOString(), planId, planVersion: 1 };
  const lines: UsageLineV1[] = charges.map((c) => ({
    kind: 'usage',
    segment,
    meter: c.meter,
    model: c.model,
    per: c.per,
    perValue: c.per ? 'app-1' : null,
    quantity: '20',
    allowanceApplied: c.allowance,
    tier: null,
    units: '15',
    unitPrice: c.unitPrice ?? '0',
    flatPrice: '0',
    amount: '0.15',
  }));
  return {
    tenant,
    invoiceId: randomUUID(),
    accountId: accountId(1),
    subscriptionId: subscriptionId(1),
    currency: 'USD',
    period: { label: segment.from.slice(0, 7), start: segment.from, end: segment.to },
    lines,
    subtotal: '0.75',
    total: '0.75',
    finalizesAt: segment.to,
    draftedAt: segment.to,
  };
};

/** Raw (b): sequential appends of one invoice-sized event to a new stream each (expected: no stream), as a draft is written. */
const rawAppends = async (): Promise<number> => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_rawledger` });
  await store.init();
  try {
    const append = () => {
      const data = sampleInvoice();
      return store.appendToStream(
        invoiceStream(tenant, data.invoiceId),
        [{ id: randomUUID(), type: invoiceDraftedType, data }],
        { expectedRevision: 'no_stream' },
      );
    };
    for (let i = 0; i < 200; i++) await append(); // warm-up
    const started = performance.now();
    for (let i = 0; i < rawRoundTrips; i++) await append();
    return rate(rawRoundTrips, performance.now() - started);
  } finally {
    await store.close();
  }
};

/** Raw (c): invoice-sized events appended to new streams 256 per call (one transaction), as a batched run writes them. */
const rawBatchedAppends = async (): Promise<number> => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_rawledger` });
  await store.init();
  try {
    const batch = () =>
      store.appendToStreams(
        Array.from({ length: 256 }, () => {
          const data = sampleInvoice();
          return {
            stream: invoiceStream(tenant, data.invoiceId),
            events: [{ id: randomUUID(), type: invoiceDraftedType, data }],
            expectedRevision: 'no_stream' as const,
          };
        }),
      );
    for (let i = 0; i < 4; i++) await batch(); // warm-up
    const batches = Math.max(4, Math.ceil(rawRoundTrips / 256));
    const started = performance.now();
    for (let i = 0; i < batches; i++) await batch();
    return rate(batches * 256, performance.now() - started);
  } finally {
    await store.close();
  }
};

/** `--cpu-profile FILE`: the process's CPU profile between start() and the returned stop() (node:inspector). */
const cpuProfile = async (): Promise<() => Promise<void>> => {
  const file = stringArg('cpu-profile');
  if (!file) return async () => undefined;
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) =>
      session.post(method, (error, result) => (error ? reject(error) : resolve(result))),
    );
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of the two timed runs: ${file}`);
  };
};

/** The subscription's previous-month usage: events-per-meter attributed UsageRecorded per meter, days 5–25 (inside the month in every zone). */
const usageOf = (i: number): NewEvent[] => {
  const events: NewEvent[] = [];
  for (let k = 0; k < meters; k++) {
    for (let j = 0; j < eventsPerMeter; j++) {
      const time = new Date(
        previousMonthStart.getTime() +
          (4 + ((i + 3 * k + 7 * j) % 21)) * 86_400_000 +
          ((i + j) % 24) * 3_600_000 +
          17 * 60_000,
      );
      const eventId = `${i}-${k}-${j}`;
      const usage: UsageRecordedV1 = {
        tenant,
        usageId: usageLedgerId(tenant, '//bench', eventId),
        source: '//bench',
        eventId,
        eventType: `bench.m${k}`,
        subject: `inst-${i}`,
        time: time.toISOString(),
        receivedAt: new Date(time.getTime() + 60_000).toISOString(),
        data: { value: reading(k) },
        attribution: {
          status: 'attributed',
          accountId: accountId(i),
          subscriptionId: subscriptionId(i),
          planId,
          attributes: { app: 'app-1' },
        },
      };
      events.push({ id: usage.usageId, type: usageRecordedType, data: { ...usage } });
    }
  }
  return events;
};

/**
 * `--age-usage hourly`: one event of every meter in every hour from the subscriptions' start until 12 hours before
 * the billed month (so no zone's billed period holds any: Sydney's begins 13:00Z on the day before), as the buckets
 * the rollups would have made of it — the same reading and attributes as the billed month's events.
 */
const hourlyEarlierUsage = async (db: Client): Promise<number> => {
  const from = subscriptionsStart.toISOString();
  const to = new Date(previousMonthStart.getTime() - 12 * 3_600_000).toISOString();
  const { rowCount } = await db.query(
    `insert into "${namespace}_aggregation".meter_hours (tenant, meter, account_id, hour, groups, attributes, events, readings, total)
     select $1, 'bench-m' || k, 'acct' || lpad(i::text, 6, '0'), hour, '{}'::jsonb, '{"app": "app-1"}'::jsonb, 1, 1, 10 * (k + 1)
       from generate_series(0, $2::int - 1) as i, generate_series(0, $3::int - 1) as k,
            generate_series($4::timestamptz, $5::timestamptz - interval '1 hour', interval '1 hour') as hour`,
    [tenant, subscriptions, meters, from, to],
  );
  return rowCount ?? 0;
};

const seedLedger = async (): Promise<number> => {
  const store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
  await store.init();
  const at = new Date(subscriptionsStart.getTime() - 30 * 86_400_000).toISOString();
  try {
    const definitions: StreamAppend[] = Array.from({ length: meters }, (_, k) => {
      const meter: MeterCreatedV1 = {
        tenant,
        slug: slug(k),
        name: `Bench meter ${k}`,
        description: null,
        eventType: `bench.m${k}`,
        aggregation: 'SUM',
        valueProperty: '$.value',
        groupBy: {},
        createdAt: at,
      };
      return {
        stream: meterStream(tenant, meter.slug),
        events: [{ id: randomUUID(), type: meterCreatedType, data: { ...meter } }],
      };
    });
    const plan: PlanCreatedV1 = { tenant, planId, name: 'Bench standard', currency: 'USD', charges, createdAt: at };
    await store.appendToStreams([
      ...definitions,
      { stream: planStream(tenant, planId), events: [{ id: randomUUID(), type: planCreatedType, data: { ...plan } }] },
    ]);
    let written = meters + 1;
    const perBatch = 1_000;
    for (let from = 0; from < subscriptions; from += perBatch) {
      const appends: StreamAppend[] = [];
      for (let i = from; i < Math.min(subscriptions, from + perBatch); i++) {
        const opened: AccountOpenedV1 = {
          tenant,
          accountId: accountId(i),
          name: `Account ${i}`,
          currency: 'USD',
          timezone: zoneOf(i),
          openedAt: at,
        };
        const started: SubscriptionStartedV1 = {
          tenant,
          accountId: accountId(i),
          subscriptionId: subscriptionId(i),
          planId,
          startsAt: subscriptionsStart.toISOString(),
          endsAt: null,
          at,
        };
        appends.push({
          stream: accountStream(tenant, accountId(i)),
          events: [
            { id: randomUUID(), type: accountOpenedType, data: { ...opened } },
            { id: randomUUID(), type: subscriptionStartedType, data: { ...started } },
          ],
        });
        if (meters > 0)
          appends.push({
            stream: accountUsageStream(tenant, accountId(i), new Date(previousMonthStart.getTime() + 10 * 86_400_000)),
            events: usageOf(i),
          });
      }
      await store.appendToStreams(appends);
      written += appends.reduce((n, a) => n + a.events.length, 0);
    }
    return written;
  } finally {
    await store.close();
  }
};

const start = (app: 'aggregation' | 'invoicing', log: (line: string) => void) =>
  startTally({
    apps: [app],
    modules: [app === 'aggregation' ? AggregationModule.register() : InvoicingModule.register()],
    required: ['DATABASE_URL', 'NATS_URL', 'TALLY_ADMIN_TOKEN'],
    env,
    clock,
    log,
  });

interface ProjectionStatus {
  name: string;
  status: string;
  behind: number;
  lastError: string | null;
}

/** Until every projection of the apps runs with nothing behind. */
const caughtUp = async (apps: RunningTally[], timeoutMs = 600_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Right after start a runner may not have created its checkpoint table yet: the endpoint answers 500 until it has.
    const answers = await Promise.all(apps.map((a) => call('GET', `${a.url}/v1/admin/projections`)));
    const statuses = answers.flatMap((a) =>
      a.status === 200
        ? (a.body.projections as ProjectionStatus[])
        : [{ name: '?', status: `http ${a.status}`, behind: -1, lastError: null }],
    );
    if (statuses.every((p) => p.status === 'running' && p.behind === 0)) return;
    if (Date.now() > deadline) throw new Error(`projections not caught up: ${JSON.stringify(statuses)}`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
};

type Summary = Record<
  'drafted' | 'redrafted' | 'finalized' | 'unchanged' | 'waiting' | 'failed' | 'subscriptions' | 'durationMs',
  number
> & { startedAt: string };

/**
 * Ledger rows Postgres has read through the position index (events_pkey): what the projections' polls and the
 * "caught up?" checks cost. Statistics are flushed about once a second, so this is approximate.
 */
const positionScans = async (db: Client): Promise<bigint> => {
  const { rows } = await db.query(
    `select coalesce(sum(idx_tup_read), 0)::text as n from pg_stat_user_indexes where schemaname = $1 and indexrelname = 'events_pkey'`,
    [`${namespace}_ledger`],
  );
  return BigInt(rows[0].n);
};

const billingRun = async (
  label: string,
  invoicing: RunningTally,
  db: Client,
  outcome: 'drafted' | 'finalized' | null,
) => {
  const scansBefore = await positionScans(db);
  const started = performance.now();
  const summary = (await ok('POST', `${invoicing.url}/v1/admin/billing-runs`)) as unknown as Summary;
  const ms = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const scanned = (await positionScans(db)) - scansBefore;
  const invoices = outcome ? summary[outcome] : 0;
  console.log(
    `${label} (clock ${now.toISOString()}): ${fmt(summary.subscriptions)} subscriptions × ${meters} meters, ${fmt(invoices)} invoices ${outcome ?? 'changed'} in ${fmt(ms / 1_000, 1)} s` +
      (outcome ? ` → ${fmt(rate(invoices, ms))} invoices/s (${fmt(ms / invoices, 2)} ms each)` : '') +
      `\n  summary ${JSON.stringify(summary)}` +
      `\n  ledger rows read by position (events_pkey) meanwhile: ${fmt(Number(scanned))}${outcome ? ` (${fmt(Number(scanned) / invoices)} per invoice)` : ''}`,
  );
  // A catch-up run (no outcome timed) may leave subscriptions failed or behind: the next run bills them.
  if (
    (outcome && summary.failed > 0) ||
    summary.subscriptions !== subscriptions ||
    (outcome && summary[outcome] !== subscriptions)
  )
    throw new Error(`${label}: expected ${subscriptions} ${outcome}, got ${JSON.stringify(summary)}`);
  return { ms, perSecond: outcome ? rate(invoices, ms) : 0, summary };
};

/** Exactly one invoice per subscription, in the expected status and with the expected total: the invoices table, and a sample through the API. */
const checkInvoices = async (db: Client, invoicing: RunningTally, status: 'draft' | 'finalized') => {
  const { rows } = await db.query(
    `select count(*)::int as invoices, count(distinct subscription_id)::int as subscriptions, count(*) filter (where status = $1)::int as in_status,
            count(distinct period_label)::int as periods, min(document ->> 'total') as min_total, max(document ->> 'total') as max_total
       from "${namespace}_invoicing".invoices where period_label = $2`,
    [status, billedLabel],
  );
  const t = rows[0];
  const sample = Array.from({ length: 30 }, (_, n) => Math.floor((n * subscriptions) / 30));
  let sampleOk = 0;
  for (const i of sample) {
    const all = (await ok('GET', `${invoicing.url}/v1/invoices?accountId=${accountId(i)}&limit=200`)).invoices as {
      subscriptionId: string;
      status: string;
      total: string;
      lines: unknown[];
      period: { label: string };
    }[];
    const listed = all.filter((invoice) => invoice.period.label === billedLabel);
    if (
      all.length === ageMonths + 1 &&
      listed.length === 1 &&
      listed[0].subscriptionId === subscriptionId(i) &&
      listed[0].status === status &&
      listed[0].total === expectedTotal &&
      listed[0].lines.length === meters
    )
      sampleOk += 1;
  }
  const exact =
    t.invoices === subscriptions &&
    t.subscriptions === subscriptions &&
    t.in_status === subscriptions &&
    t.periods === 1 &&
    t.min_total === expectedTotal &&
    t.max_total === expectedTotal;
  console.log(
    `  check: invoices table ${fmt(t.invoices)} rows for ${fmt(t.subscriptions)} subscriptions (${fmt(t.in_status)} ${status}, ${t.periods} period), totals ${t.min_total}…${t.max_total} (expected ${expectedTotal}); ` +
      `API sample ${sampleOk}/${sample.length} accounts with exactly one ${status} invoice of ${expectedTotal} → ${exact && sampleOk === sample.length ? 'OK' : 'MISMATCH'}`,
  );
  if (!exact || sampleOk !== sample.length) throw new Error('invoice check failed');
};

/**
 * The billing run's usage requests on their own: the same request per subscription, against the real aggregation
 * app, `inFlight` at a time (1: sequential, as the run sends them).
 */
const usageReplay = async (count: number, inFlight: number, fresh = false): Promise<number> => {
  const bus = await JetStreamBus.connect({ servers: testNatsUrl(), namespace });
  try {
    const requestFor = (i: number): BillableUsageRequestV1 => {
      const period = billingPeriodAt(new Date(previousMonthStart.getTime() + 15 * 86_400_000), zoneOf(i));
      return {
        tenant,
        accountId: accountId(i),
        intervals: [
          {
            from: new Date(Math.max(previousMonthStart.getTime(), Date.parse(period.start))).toISOString(),
            to: period.end,
          },
        ],
        meters: charges.map((c) => ({ meter: c.meter, per: c.per })),
        // As finalization asks: only from rollups that have applied the ledger (aggregation checks before answering).
        ...(fresh ? { fresh: true } : {}),
      };
    };
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < count; n = next++) {
        const reply = decodeJson<BillableUsageReplyV1>(
          (await bus.request(billableUsageSubject, encodeJson(requestFor(n)), { timeoutMs: 30_000 })).data,
        );
        if (!reply.ok || reply.values.length !== meters)
          throw new Error(`usage replay: unexpected reply ${JSON.stringify(reply)}`);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: inFlight }, worker));
    return rate(count, performance.now() - started);
  } finally {
    await bus.close();
  }
};

/** The run's per-subscription stream read on its own (the invoice's state, read from the ledger before every decision). */
const streamReads = async (db: Client, invoicing: RunningTally, count: number): Promise<number> => {
  const { rows } = await db.query(
    `select invoice_id::text as id from "${namespace}_invoicing".invoices order by invoice_id limit $1`,
    [count],
  );
  const started = performance.now();
  for (const { id } of rows) await invoicing.runtime.eventStore.readStream(invoiceStream(tenant, id));
  return rate(rows.length, performance.now() - started);
};

const main = async () => {
  console.log(
    `billing benchmark: ${fmt(subscriptions)} subscriptions × ${meters} meters × ${eventsPerMeter} events each (${zones.join(', ')}), namespace ${namespace}; ` +
      `billing ${previousMonthStart.toISOString().slice(0, 7)}`,
  );
  const nats = await rawNatsRoundTrips();
  console.log(`raw NATS request/reply, echo responder, sequential: ${fmt(nats)} round trips/s`);
  const appends = await rawAppends();
  console.log(
    `raw event-store append, one invoice-sized event to a new stream each, sequential: ${fmt(appends)} appends/s`,
  );
  const batchedAppends = await rawBatchedAppends();
  console.log(`raw event-store append, the same, 256 streams per transaction: ${fmt(batchedAppends)} appends/s`);

  let started = performance.now();
  const seeded = await seedLedger();
  console.log(`ledger seeded directly: ${fmt(seeded)} events in ${fmt((performance.now() - started) / 1_000, 1)} s`);

  const problems: string[] = [];
  const log = (line: string) => {
    if (/fail|error/i.test(line)) problems.push(line);
  };
  const db = new Client({ connectionString: testDatabaseUrl() });
  await db.connect();
  const apps: RunningTally[] = [];
  try {
    started = performance.now();
    const aggregation = await start('aggregation', log);
    apps.push(aggregation);
    const invoicing = await start('invoicing', log);
    apps.push(invoicing);
    await caughtUp(apps);
    console.log(
      `aggregation and invoicing started, every projection caught up in ${fmt((performance.now() - started) / 1_000, 1)} s`,
    );
    if (ageMonths > 0) {
      if (ageUsage === 'hourly') {
        const t0 = performance.now();
        const buckets = await hourlyEarlierUsage(db);
        console.log(
          `earlier periods' usage: ${fmt(buckets)} hourly buckets written in ${fmt((performance.now() - t0) / 1_000, 1)} s`,
        );
      }
      now = catchUpAt;
      // What a run leaves `behind` (usage answers that timed out: `--age-usage hourly`) the next one bills, as the
      // billing clock would; the runs are counted and said.
      let [drafted, finalized, ms, runs, failed] = [0, 0, 0, 0, 0];
      while (finalized < subscriptions * ageMonths && runs < 10) {
        runs += 1;
        const catchUp = await billingRun(
          `catch-up run ${runs} (${ageMonths} earlier periods each)`,
          invoicing,
          db,
          null,
        );
        [drafted, finalized, ms] = [
          drafted + catchUp.summary.drafted,
          finalized + catchUp.summary.finalized,
          ms + catchUp.ms,
        ];
        failed += catchUp.summary.failed;
        await caughtUp([invoicing]);
      }
      console.log(
        `  ${fmt(drafted)} drafted and ${fmt(finalized)} finalized in ${runs} run(s) (${fmt(failed)} subscription failures along the way): ${fmt(rate(finalized, ms))} periods/s`,
      );
      if (drafted !== subscriptions * ageMonths || finalized !== drafted) throw new Error('catch-up runs incomplete');
      now = firstRunAt;
    }

    const stopProfile = await cpuProfile();
    const first = await billingRun('first run (drafts)', invoicing, db, 'drafted');
    console.log(
      `  ratio to raw NATS round trips ${(first.perSecond / nats).toFixed(2)}, to raw appends ${(first.perSecond / appends).toFixed(2)}, to raw batched appends ${(first.perSecond / batchedAppends).toFixed(2)}`,
    );
    // A billing run's per-subscription floor: one NATS round trip and one append, each sequential.
    const raw = [
      { what: 'NATS request/reply, sequential', value: nats, unit: 'round trips/s' },
      { what: 'event-store append to a new stream, sequential', value: appends, unit: 'appends/s' },
      { what: 'the same, 256 streams per transaction', value: batchedAppends, unit: 'appends/s' },
    ];
    const aged =
      ageMonths > 0
        ? `, ${ageMonths} earlier periods each${ageUsage === 'hourly' ? ' with usage in every hour' : ' without usage'}`
        : '';
    const size = `${fmt(subscriptions)} subscriptions × ${meters} meters`;
    reportResult({
      stage: ageMonths > 0 ? 'billing-draft-aged' : 'billing-draft',
      figure: first.perSecond,
      unit: 'invoices/s',
      raw,
      scale: subscriptions,
      note: `${size} in ${fmt(first.ms / 1_000, 1)} s${aged}`,
    });
    await caughtUp([invoicing]);
    await checkInvoices(db, invoicing, 'draft');

    now = secondRunAt;
    const second = await billingRun('second run (finalizes)', invoicing, db, 'finalized');
    console.log(
      `  ratio to raw NATS round trips ${(second.perSecond / nats).toFixed(2)}, to raw appends ${(second.perSecond / appends).toFixed(2)}, to raw batched appends ${(second.perSecond / batchedAppends).toFixed(2)}`,
    );
    reportResult({
      stage: ageMonths > 0 ? 'billing-finalize-aged' : 'billing-finalize',
      figure: second.perSecond,
      unit: 'invoices/s',
      raw,
      scale: subscriptions,
      note: `${size} in ${fmt(second.ms / 1_000, 1)} s${aged}`,
    });
    await caughtUp([invoicing]);
    await checkInvoices(db, invoicing, 'finalized');

    await stopProfile();
    const third = await billingRun('third run (everything settled)', invoicing, db, null);
    // Twice more: the first pass after a run can meet Postgres still vacuuming or the process still collecting.
    const again = [third.ms];
    for (const n of [4, 5]) again.push((await billingRun(`run ${n} (everything settled)`, invoicing, db, null)).ms);

    // Where the time goes: the pieces of the per-subscription work, each on its own and sequential.
    const replayed = Math.min(subscriptions, 5_000);
    // Without charges the run sends no usage request (the client answers itself): nothing to replay.
    const usage = meters > 0 ? await usageReplay(replayed, 1) : Infinity;
    const usageParallel = meters > 0 ? await usageReplay(replayed, 8) : Infinity;
    const usageFresh = meters > 0 ? await usageReplay(replayed, 1, true) : Infinity;
    const reads = await streamReads(db, invoicing, replayed);
    const perSub = (r: { ms: number }) => r.ms / subscriptions;
    const pieces = { usage: 1_000 / usage, read: 1_000 / reads, append: 1_000 / appends };
    console.log(
      `profile (the pieces of an invoice's work one at a time; a run batches them, so its time per invoice can be below their sum): ` +
        `billable-usage request alone (real aggregation, ${fmt(replayed)} sequential) ${fmt(usage)}/s = ${pieces.usage.toFixed(2)} ms; ` +
        `invoice stream read alone ${fmt(reads)}/s = ${pieces.read.toFixed(2)} ms; raw append ${pieces.append.toFixed(2)} ms`,
    );
    for (const [label, run] of [
      ['first run', first],
      ['second run', second],
    ] as const) {
      const rest = perSub(run) - pieces.usage - pieces.read - pieces.append;
      console.log(
        `  ${label}: ${perSub(run).toFixed(2)} ms per subscription against ${(pieces.usage + pieces.read + pieces.append).toFixed(2)} ms for the pieces one at a time (usage request ${pieces.usage.toFixed(2)} + stream read ${pieces.read.toFixed(2)} + append ${pieces.append.toFixed(2)}; ${rest < 0 ? 'batching pays' : `rest ${rest.toFixed(2)}`}); the batched append alone ${(1_000 / batchedAppends).toFixed(2)} ms per invoice`,
      );
    }
    if (meters > 0)
      console.log(
        `  the same usage requests asked fresh (as finalization asks), sequential: ${fmt(usageFresh)}/s = ${(1_000 / usageFresh).toFixed(2)} ms`,
      );
    if (meters > 0)
      console.log(
        `  the same usage requests 8 in flight (headroom a concurrent run could use): ${fmt(usageParallel)}/s, ${(usageParallel / usage).toFixed(1)}× sequential`,
      );
    console.log(
      `  third run: ${fmt(third.ms)} ms for a pass with nothing to do (registry, plans and settled invoices loaded); runs 3–5: ${again.map((ms) => fmt(ms)).join(' / ')} ms, fastest ${fmt(Math.min(...again))} ms`,
    );
  } finally {
    // Said whether the run finished or stopped on a check: a failed subscription's reason is in these lines.
    if (problems.length > 0)
      console.log(`app log lines mentioning failures: ${problems.length}, first: ${problems.slice(0, 3).join(' | ')}`);
    for (const app of apps.reverse()) await app.close();
    await db.end();
  }
};

runBenchmark(namespace, main);
