/**
 * The example account `npm start` opens on its first start (TALLY_EXAMPLE=on, the default in embedded mode), so
 * that a newcomer who opens the console sees usage, charts and an invoice at once: a Forge app developer with two
 * apps on the Forge plan, and their usage hour by hour since the previous month began. Everything goes through
 * the API (the same validation as any client); nothing is written behind its back.
 */

export const exampleAccountId = 'example';

/** The apps the example developer runs: each a subject with the attributes the console breaks usage down by. */
export const exampleApps = [
  { subject: 'weather-app', attributes: { app: 'weather-app', environment: 'production', site: 'acme.atlassian.net' } },
  { subject: 'todo-app', attributes: { app: 'todo-app', environment: 'staging', site: 'acme.atlassian.net' } },
] as const;

const hourMs = 3_600_000;

interface ExampleEvent {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  time: string;
  data: Record<string, number>;
}

/** Busier by day than by night (UTC), the same every run: a picture with a shape, no randomness. */
const dayCurve = (hour: number) => 1 + Math.round(10 * Math.sin((Math.PI * ((hour + 18) % 24)) / 24)) / 10;

/**
 * The example's usage from the previous month's first hour (UTC; at most the lateness horizon less two days back:
 * older usage would be refused) to the last whole hour
 * before `now`: each app's function compute, key-value reads, logs and object store requests every hour, and its
 * SQL database's size once a day. The weather app uses more than the free allowances (an invoice with amounts);
 * the todo app stays inside them. Ids are stable, so the same hour sent twice is one event.
 */
export const exampleEvents = (now: Date, latenessHorizonDays: number): ExampleEvent[] => {
  const previousMonth = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
  const oldest = now.getTime() - Math.max(0, latenessHorizonDays - 2) * 24 * hourMs;
  const from = Math.max(previousMonth, Math.ceil(oldest / hourMs) * hourMs);
  const to = Math.floor(now.getTime() / hourMs) * hourMs;
  const events: ExampleEvent[] = [];
  for (let at = from; at < to; at += hourMs) {
    const hour = new Date(at).getUTCHours();
    const time = new Date(at + 17 * 60_000).toISOString();
    exampleApps.forEach(({ subject }, index) => {
      const scale = index === 0 ? 1 : 0.1;
      const event = (type: string, data: Record<string, number>) =>
        events.push({
          specversion: '1.0',
          id: `${type}-${subject}-${new Date(at).toISOString()}`,
          source: '//tally-example',
          type,
          subject,
          time,
          data,
        });
      // 1024 MiB for 400 s × the day's curve: ≈ 420 GB-s an hour for the weather app, over its 200,000 a month.
      event('forge.function.invocation', { memoryMiB: 1024, durationMs: Math.round(400_000 * scale * dayCurve(hour)) });
      // Forge gives 0.1 GB of key-value reads a month per app: the weather app reads far more, the todo app less.
      event('forge.kvs.read', { bytes: Math.round((index === 0 ? 150_000_000 : 80_000) * dayCurve(hour)) });
      event('forge.log', { bytes: Math.round(2_000_000 * scale * dayCurve(hour)) });
      event('forge.objectstore.request', {});
      if (hour === 0)
        event('forge.sql.storage', { bytes: Math.round((1 + (at - from) / (40 * 24 * hourMs)) * 1e9 * scale) });
    });
  }
  return events;
};

type Call = (method: string, path: string, body: unknown, token: string) => Promise<Response>;

/** How long the load waits for its usage to be counted (a first start's work: seconds, usually). */
const countedWithinMs = 120_000;

/**
 * Opens the example account, its subjects and its subscription, sends its usage, and waits until the usage is
 * counted (so the console shows all of it when the banner says so). Every step is a retry-safe request — the same
 * account, subjects and subscription again are answered 200, the same event ids are one event each — so a load cut
 * short is simply run again on the next start (the caller keeps the mark of a finished one).
 * Usage of the previous month, long ended, is billed by the first billing run after it (drafted and finalized at
 * once): the run comes TALLY_BILLING_INTERVAL_MS (a minute) after the start, while the load takes seconds; were it
 * slower, what the run missed would be billed as an adjustment on the next invoice, as any late usage is.
 */
export const loadExampleAccount = async (
  call: Call,
  credentials: { adminToken: string; apiKey: string },
  now: Date,
  latenessHorizonDays: number,
): Promise<string> => {
  const admin = async (method: string, path: string, body?: unknown) => {
    const response = await call(method, path, body, credentials.adminToken);
    if (!response.ok)
      throw new Error(`example account: ${method} ${path} answered ${response.status}: ${await response.text()}`);
    return response;
  };
  const previousMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString();
  await admin('POST', '/v1/accounts', {
    id: exampleAccountId,
    name: 'Example Forge developer',
    currency: 'USD',
    timezone: 'UTC',
    locale: 'en-US',
  });
  // Before the usage: usage of an account without a subscription at its time is parked, not counted.
  await admin('POST', '/v1/subscriptions', {
    id: `${exampleAccountId}-forge`,
    accountId: exampleAccountId,
    planId: 'forge',
    startsAt: previousMonth,
  });
  for (const app of exampleApps)
    await admin('PUT', `/v1/subjects/${app.subject}`, { accountId: exampleAccountId, attributes: app.attributes });
  const events = exampleEvents(now, latenessHorizonDays);
  for (let i = 0; i < events.length; i += 1_000) {
    const response = await call('POST', '/v1/events', events.slice(i, i + 1_000), credentials.apiKey);
    if (!response.ok)
      throw new Error(`example account: POST /v1/events answered ${response.status}: ${await response.text()}`);
  }
  await counted(admin, previousMonth, now, events.length);
  return `example account: ${exampleAccountId} (${events.length.toLocaleString('en-US')} usage events since ${previousMonth.slice(0, 10)})`;
};

/** Until the account's usage counts every event sent (GET /v1/usage, by day); refused after countedWithinMs. */
const counted = async (
  admin: (method: string, path: string) => Promise<Response>,
  from: string,
  now: Date,
  expected: number,
) => {
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
  const deadline = Date.now() + countedWithinMs;
  let seen = '0';
  while (Date.now() < deadline) {
    const response = await admin('GET', `/v1/usage?accountId=${exampleAccountId}&windowSize=DAY&from=${from}&to=${to}`);
    seen = ((await response.json()) as { totalEvents: string }).totalEvents;
    if (seen === String(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`example account: ${seen} of ${expected} usage events counted after ${countedWithinMs / 1000} s`);
};
