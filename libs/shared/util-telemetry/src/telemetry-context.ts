import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whose work this is, carried through every hop so that one usage event can be followed from the HTTP
 * request that brought it to the invoice it ends up on. `correlationId` stays the same along the whole
 * chain (the first request's id, or the producer's `X-Correlation-Id`); `causationId` names what is being
 * handled right now — a request id, a message id, a ledger event id — and becomes the causation id of
 * whatever this work publishes or appends.
 */
export interface TelemetryContext {
  correlationId: string;
  causationId: string;
  /** Set while an HTTP request is handled. */
  requestId?: string;
}

const storage = new AsyncLocalStorage<TelemetryContext>();

export const currentTelemetry = (): TelemetryContext | undefined => storage.getStore();

export const withTelemetry = <T>(telemetry: TelemetryContext, work: () => T): T => storage.run(telemetry, work);

/** Header names on NATS messages (W3C trace context travels beside them as `traceparent`). */
export const correlationHeader = 'Tally-Correlation-Id';
export const causationHeader = 'Tally-Causation-Id';

/** Ledger event metadata keys. */
export interface TelemetryMetadata {
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
  tracestate?: string;
}
