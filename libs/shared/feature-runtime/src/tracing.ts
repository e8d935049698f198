import type * as OtelSdk from '@opentelemetry/sdk-node';
import type * as OtelTraceBase from '@opentelemetry/sdk-trace-base';
import type * as OtelOtlpHttp from '@opentelemetry/exporter-trace-otlp-http';

export interface Tracing {
  /** Exports what is still buffered, then stops. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry traces, off unless configured: with OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT)
 * set, spans go over OTLP/HTTP to that collector in batches; the SDK reads the other OTEL_* variables
 * itself (OTEL_SERVICE_NAME, sampling, headers). Tally makes its spans by hand at its own seams — HTTP
 * requests, publishes, consumes, ledger appends, projection batches — with the W3C trace context carried
 * in NATS headers and ledger event metadata, so no auto-instrumentation (and no monkey-patching) is loaded.
 * Only the SDK's tracer provider and propagators are registered: no metrics or logs through OpenTelemetry
 * (metrics are Prometheus', logs pino's). A test passes its own exporter (in memory).
 */
export const startTracing = (
  serviceName: string,
  options: { exporter?: OtelTraceBase.SpanExporter; env?: Record<string, string | undefined> } = {},
): Tracing | undefined => {
  const env = options.env ?? process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!options.exporter && !endpoint) return undefined;
  // Required here, not when this module loads: the SDK adds ≈ 25 MB of resident memory to every process that
  // loads it, and tracing is off unless configured (docs/operations.md, "Memory").
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof OtelSdk;
  const { BatchSpanProcessor, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof OtelTraceBase;
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof OtelOtlpHttp;
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || serviceName,
    spanProcessors: [
      options.exporter ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(new OTLPTraceExporter()),
    ],
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
};
