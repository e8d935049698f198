import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, SimpleSpanProcessor, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

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
  options: { exporter?: SpanExporter; env?: Record<string, string | undefined> } = {},
): Tracing | undefined => {
  const env = options.env ?? process.env;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!options.exporter && !endpoint) return undefined;
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
