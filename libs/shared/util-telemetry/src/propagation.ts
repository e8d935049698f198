import {
  Context,
  context as otel,
  Link,
  propagation,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import {
  causationHeader,
  correlationHeader,
  currentTelemetry,
  TelemetryContext,
  TelemetryMetadata,
  withTelemetry,
} from './telemetry-context';

/**
 * Headers for a message published now: the correlation id and, as causation, what is being handled; and
 * the active span's W3C trace context (nothing when tracing is off: the API's propagator is a no-op then).
 */
export const outgoingHeaders = (): Record<string, string> => {
  const headers: Record<string, string> = {};
  const telemetry = currentTelemetry();
  if (telemetry) {
    headers[correlationHeader] = telemetry.correlationId;
    headers[causationHeader] = telemetry.causationId;
  }
  propagation.inject(otel.active(), headers);
  return headers;
};

/** The same, as ledger event metadata. */
export const outgoingMetadata = (): TelemetryMetadata => {
  const telemetry = currentTelemetry();
  const metadata: Record<string, string> = {};
  if (telemetry) {
    metadata.correlationId = telemetry.correlationId;
    metadata.causationId = telemetry.causationId;
  }
  propagation.inject(otel.active(), metadata);
  return metadata;
};

/** What a received message (or a recorded event) says of its chain; `ownId` is its own id. */
export const telemetryOfHeaders = (headers: Readonly<Record<string, string>>, ownId: string): TelemetryContext => ({
  correlationId: headers[correlationHeader] || ownId,
  causationId: ownId,
});

export const telemetryOfMetadata = (metadata: TelemetryMetadata | undefined, ownId: string): TelemetryContext => ({
  correlationId: metadata?.correlationId || ownId,
  causationId: ownId,
});

/** The trace context a message or event carries (headers or metadata), to parent or link spans to. */
export const remoteContext = (carrier: Readonly<Record<string, unknown>> | undefined): Context =>
  propagation.extract(ROOT_CONTEXT, carrier ?? {}, {
    get: (c, key) => (typeof c[key] === 'string' ? (c[key] as string) : undefined),
    keys: (c) => Object.keys(c),
  });

export { SpanKind };

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Record<string, string | number | boolean>;
  /** Parent (default: the active context). */
  parent?: Context;
  links?: Link[];
}

const tracer = () => trace.getTracer('tally');

/** Runs work in a span (a no-op span unless the OpenTelemetry SDK is registered); failures mark it. */
export const inSpan = <T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> =>
  tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, links: options.links },
    options.parent ?? otel.active(),
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        throw error;
      } finally {
        span.end();
      }
    },
  );

/** Links to other carriers' spans (a batch handled at once: parent the first, link the rest). */
export const linksTo = (carriers: readonly (Readonly<Record<string, unknown>> | undefined)[]): Link[] =>
  carriers
    .map((carrier) => trace.getSpanContext(remoteContext(carrier)))
    .filter((spanContext) => spanContext !== undefined)
    .map((spanContext) => ({ context: spanContext }));

/**
 * Handles one received message (or ledger event) as its chain's continuation: its telemetry context for
 * logs and whatever it publishes, and a span parented on the trace it carries.
 */
export const continueFrom = <T>(
  carrier: Readonly<Record<string, unknown>> | undefined,
  telemetry: TelemetryContext,
  span: { name: string; kind?: SpanKind; attributes?: Record<string, string | number | boolean> },
  work: () => Promise<T>,
): Promise<T> =>
  withTelemetry(telemetry, () =>
    inSpan(
      span.name,
      { kind: span.kind ?? SpanKind.CONSUMER, attributes: span.attributes, parent: remoteContext(carrier) },
      () => work(),
    ),
  );

export { otel as otelContext, trace as otelTrace };

/**
 * One span per received message, each parented on the trace its message carries (a batch is handled at
 * once, but each message keeps its own trace). `contexts[i]` is message i's span as a parent, for the work
 * done on its behalf and for what it publishes or appends; `end` closes them all.
 */
export const messageSpans = (
  name: string,
  carriers: readonly (Readonly<Record<string, unknown>> | undefined)[],
  attributes?: Record<string, string | number | boolean>,
): { contexts: Context[]; end(error?: unknown): void } => {
  const spans = carriers.map((carrier) =>
    tracer().startSpan(name, { kind: SpanKind.CONSUMER, attributes }, remoteContext(carrier)),
  );
  return {
    contexts: spans.map((span) => trace.setSpan(ROOT_CONTEXT, span)),
    end: (error) => {
      for (const span of spans) {
        if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
        span.end();
      }
    },
  };
};

/** Ledger event metadata for work done in `parent` (a message's span) on behalf of `telemetry`. */
export const metadataFor = (telemetry: TelemetryContext, parent: Context): TelemetryMetadata => {
  const metadata: Record<string, string> = {
    correlationId: telemetry.correlationId,
    causationId: telemetry.causationId,
  };
  propagation.inject(parent, metadata);
  return metadata;
};
