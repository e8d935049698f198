import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenMeter } from '@openmeter/sdk';
import { RunningTally } from '@tally/shared/feature-runtime';
import { eventually, uniqueName } from '@tally/shared/testing';
// eslint-disable-next-line @nx/enforce-module-boundaries -- e2e/support starts the apps as every end-to-end suite does
import {
  adminToken,
  AppName,
  createProducerKey,
  http,
  openPayingAccount,
  startAllApps,
  stopAllApps,
} from '../../e2e/support';
import { OpenMeterSpec } from './spec';

/**
 * The official OpenMeter SDK (@openmeter/sdk, as installed) against Tally, round trip: every in-scope operation
 * the SDK has a call for — events.ingest and events.list; meters.create, list, get, query and subjects — with
 * what comes back held to OpenMeter's document too. (This SDK release has no call for updateMeter, deleteMeter
 * or listMeterGroupByValues: those are checked over HTTP in conformance.spec.ts.)
 */
const spec = OpenMeterSpec.load(); // fails the file at once, saying where it looked, when the document is missing

type Fields = Record<string, unknown>;
const [meterExample] = spec.requestExamples('createMeter') as Fields[];
const [queryExample] = spec.requestExamples('queryMeterPost') as Fields[];
const [subject] = queryExample.subject as string[];
const slug = meterExample.slug as string;

const hour = 3_600_000;
const h0 = Math.floor(Date.now() / hour) * hour - 3 * hour;
const at = (minutes: number) => new Date(h0 + minutes * 60_000);
const run = Date.now().toString(36);
const usage = [
  { id: `${run}-1`, time: at(5), data: { tokens: 10, model: 'gpt-4o', type: 'input' } },
  { id: `${run}-2`, time: at(10), data: { tokens: '30', model: 'gpt-4-turbo', type: 'prompt' } },
  { id: `${run}-3`, time: at(70), data: { tokens: 12, model: 'gpt-4', type: 'input' } },
];

/** An SDK call; a refusal is rethrown with its status and problem (the SDK's own error names only the type). */
const sdk = async <T>(call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    const { statusCode, problem } = error as { statusCode?: number; problem?: unknown };
    if (statusCode === undefined) throw error;
    throw new Error(`the SDK call was answered ${statusCode}: ${JSON.stringify(problem) ?? '(no problem body)'}`);
  }
};

describe('the official OpenMeter SDK against Tally', () => {
  const namespace = uniqueName('openmeter_sdk');
  let apps = {} as Record<AppName, RunningTally>;
  /** The producer's client (ingestion, a producer key); the admin's on ingestion and on aggregation. */
  let producer: OpenMeter;
  let events: OpenMeter;
  let meters: OpenMeter;

  /** What comes back is valid under the document's schema. */
  const conforms = (schema: string, value: unknown) => {
    const problems = spec.validateSchema(schema, value);
    expect.soft(problems.length === 0, `as ${schema}: ${problems.join('; ')} — ${JSON.stringify(value)}`).toBe(true);
  };

  beforeAll(async () => {
    apps = await startAllApps(namespace);
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    const assigned = await http('PUT', `${apps.attribution.url}/v1/subjects/${subject}`, { accountId: 'acme' });
    if (assigned.status >= 300) throw new Error(`could not assign ${subject}: ${JSON.stringify(assigned.body)}`);
    producer = new OpenMeter({ baseUrl: apps.ingestion.url, token: await createProducerKey(apps.ingestion.url) });
    events = new OpenMeter({ baseUrl: apps.ingestion.url, token: adminToken });
    meters = new OpenMeter({ baseUrl: apps.aggregation.url, token: adminToken });
  });

  afterAll(async () => {
    await stopAllApps(apps, namespace);
  });

  it('ingestEvents: events.ingest takes one event, then a batch', async () => {
    const [first, ...rest] = usage.map((u) => ({
      id: u.id,
      source: 'service-name',
      type: meterExample.eventType as string,
      subject,
      time: u.time,
      data: u.data,
    }));
    await sdk(() => producer.events.ingest(first));
    await sdk(() => producer.events.ingest(rest));
  });

  it('createMeter: meters.create creates the MeterCreate example', async () => {
    // The SDK's Meter type is an older one (it wants a windowSize); the document's example is what is sent.
    const created = await sdk(() =>
      meters.meters.create(meterExample as unknown as Parameters<typeof meters.meters.create>[0]),
    );
    conforms('Meter', created);
    expect(created).toMatchObject(meterExample);
  });

  it('listMeters: meters.list lists it', async () => {
    const listed = await eventually(
      () => sdk(() => meters.meters.list()),
      (list) => list.some((m) => m.slug === slug),
      10_000,
    );
    for (const meter of listed) conforms('Meter', meter);
  });

  it('getMeter: meters.get answers it', async () => {
    const meter = await sdk(() => meters.meters.get(slug));
    conforms('Meter', meter);
    expect(meter).toMatchObject(meterExample);
  });

  it('getMeter: meters.get of an unknown meter fails with the 404 problem, which the SDK reads', async () => {
    // The SDK reads a problem only when the content type is exactly application/problem+json.
    const refused = await meters.meters.get('no_such_meter').then(
      () => undefined,
      (error: { statusCode?: number; problem?: unknown }) => error,
    );
    expect(refused?.statusCode).toBe(404);
    expect(refused?.problem, 'the problem, as the SDK read it').toBeDefined();
    conforms('NotFoundProblemResponse', refused?.problem);
  });

  it('queryMeter: meters.query answers the usage by hour and model', async () => {
    const query = () =>
      sdk(() => meters.meters.query(slug, { from: at(0), to: at(120), windowSize: 'HOUR', groupBy: ['model'] }));
    const total = (result: Awaited<ReturnType<typeof query>>) =>
      result.data.reduce((sum, row) => sum + Number(row.value), 0);
    const result = await eventually(query, (r) => total(r) === 52, 15_000).catch(query);
    conforms('MeterQueryResult', result);
    expect(
      result.data
        .map((row) => [Date.parse(row.windowStart), row.groupBy?.model, Number(row.value)])
        .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
    ).toEqual([
      [at(0).getTime(), 'gpt-4-turbo', 30],
      [at(0).getTime(), 'gpt-4o', 10],
      [at(60).getTime(), 'gpt-4', 12],
    ]);
  });

  it('listMeterSubjects: meters.subjects lists the subject', async () => {
    const subjects = await sdk(() => meters.meters.subjects(slug));
    expect(subjects).toEqual([subject]);
  });

  it('listEvents: events.list lists the ingested events', async () => {
    const listed = await sdk(() => events.events.list({ limit: 100 }));
    for (const event of listed) conforms('IngestedEvent', event);
    expect(listed.map((e) => e.event.id)).toEqual(expect.arrayContaining(usage.map((u) => u.id)));
  });
});
