import { outgoingMetadata, SpanKind, SpanOptions } from '@tally/shared/util-telemetry';
import { JsonObject, StreamAppend } from './event-store.port';

/**
 * The appends with every event's metadata settled: what its author gave, else the current work's correlation
 * and causation ids and trace context (read once per call) — so any event can be traced back to the request or
 * message that caused it.
 */
export const withAmbientMetadata = (appends: readonly StreamAppend[]): readonly StreamAppend[] => {
  if (appends.every((a) => a.events.every((e) => e.metadata))) return appends;
  const ambient = outgoingMetadata() as JsonObject;
  return appends.map((a) => ({ ...a, events: a.events.map((e) => (e.metadata ? e : { ...e, metadata: ambient })) }));
};

export const appendSpan = (appends: readonly StreamAppend[], system: string): SpanOptions => ({
  kind: SpanKind.CLIENT,
  attributes: {
    'db.system': system,
    'tally.streams': appends.length,
    'tally.events': appends.reduce((n, a) => n + a.events.length, 0),
  },
});
