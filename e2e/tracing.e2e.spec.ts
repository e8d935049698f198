import { randomBytes } from 'node:crypto';
import { InMemorySpanExporter, ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, uniqueName } from '@tally/shared/testing';
import { RunningTally, startTracing, Tracing } from '@tally/shared/feature-runtime';
import {
  adminToken,
  AppName,
  createProducerKey,
  http,
  openPayingAccount,
  startAllApps,
  stopAllApps,
  usageEvent,
} from './support';

/**
 * One usage event, followed by OpenTelemetry across the four apps (over real JetStream and Postgres): the
 * producer's trace continues into intake's request, the JetStream publish, attribution's consume, the ledger
 * append, the projections' apply, and a usage query sent with the same trace context.
 */
describe('traces', () => {
  const namespace = uniqueName('trace');
  const exporter = new InMemorySpanExporter();
  let apps = {} as Record<AppName, RunningTally>;
  let tracing: Tracing | undefined;
  let key: string;

  beforeAll(async () => {
    tracing = startTracing('tally-test', { exporter });
    apps = await startAllApps(namespace);
    key = await createProducerKey(apps.ingestion.url);
    await openPayingAccount({ invoicing: apps.invoicing.url, attribution: apps.attribution.url }, 'acme');
    await http('PUT', `${apps.attribution.url}/v1/subjects/inst-1`, { accountId: 'acme' });
  });

  afterAll(async () => {
    await stopAllApps(apps, namespace);
    await tracing?.shutdown();
  });

  it('spans HTTP intake → JetStream publish → attribution consume → ledger append → projection apply → query, in one trace', async () => {
    const traceId = randomBytes(16).toString('hex');
    const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
    const sent = await fetch(`${apps.ingestion.url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', traceparent },
      body: JSON.stringify(usageEvent('traced-1', 'inst-1')),
    });
    expect(sent.status).toBe(200);
    await eventually(
      () => http('GET', `${apps.aggregation.url}/v1/usage?accountId=acme&windowSize=DAY`),
      (answer) => answer.body?.totalEvents === '1',
      20_000,
    );
    await fetch(`${apps.aggregation.url}/v1/usage?accountId=acme&windowSize=DAY`, {
      headers: { authorization: `Bearer ${adminToken}`, traceparent },
    });

    const inTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const spans = await eventually(
      async () => inTrace(),
      (found) =>
        found.some((s) => s.name === 'projection apply aggregation_usage_rollup') &&
        found.some((s) => s.name === 'GET /v1/usage'),
      10_000,
    );
    const named = (name: string): ReadableSpan => {
      const span = spans.find((s) => s.name === name);
      if (!span) throw new Error(`no span ${name} in the trace: ${spans.map((s) => s.name).join(', ')}`);
      return span;
    };
    const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

    const intake = named('POST /v1/events');
    const publish = named('publish ingestion.evt.usage-received.v1');
    const consume = named('attribution consume');
    const append = named('ledger append');
    const apply = named('projection apply aggregation_usage_rollup');
    const query = named('GET /v1/usage');
    // A chain, each stage the child of the one before it.
    expect(parentOf(publish)).toBe(intake.spanContext().spanId);
    expect(parentOf(consume)).toBe(publish.spanContext().spanId);
    expect(parentOf(append)).toBe(consume.spanContext().spanId);
    expect(parentOf(apply)).toBe(consume.spanContext().spanId);
    expect(query.attributes['http.response.status_code']).toBe(200);
  });

  it('records the correlation and causation ids in the ledger event, from the producer’s X-Correlation-Id', async () => {
    const sent = await fetch(`${apps.ingestion.url}/v1/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-correlation-id': 'order-4711',
        'x-request-id': 'req-traced-2',
      },
      body: JSON.stringify(usageEvent('traced-2', 'inst-1')),
    });
    expect(sent.headers.get('x-request-id')).toBe('req-traced-2');
    const recorded = await eventually(
      async () =>
        (await apps.attribution.runtime.eventStore.readAll({ eventTypes: ['UsageRecorded'], maxCount: 1000 })).find(
          (e) => e.data.eventId === 'traced-2',
        ),
      (event) => event !== undefined,
      10_000,
    );
    expect(recorded?.metadata).toMatchObject({ correlationId: 'order-4711' });
    expect(String(recorded?.metadata.causationId)).toMatch(/./); // the JetStream message that carried it
    expect(String(recorded?.metadata.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('records the request’s ids in the events a command appends (a meter created over HTTP)', async () => {
    const created = await fetch(`${apps.aggregation.url}/api/v1/meters`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${adminToken}`,
        'content-type': 'application/json',
        'x-correlation-id': 'change-42',
        'x-request-id': 'req-meter-1',
      },
      body: JSON.stringify({ slug: 'traced_gb', eventType: 'fn.invocation', aggregation: 'COUNT' }),
    });
    expect(created.status).toBe(201);
    const [event] = await apps.aggregation.runtime.eventStore.readStream('meter-default_traced_gb');
    expect(event.metadata).toMatchObject({ correlationId: 'change-42', causationId: 'req-meter-1' });
  });
});
