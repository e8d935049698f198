import { outgoingMetadata, SpanKind, SpanOptions } from '@tally/shared/util-telemetry';
import { JsonObject, NewEvent, StreamAppend } from './event-store.port';

/**
 * An appended event's metadata: what its author gave, else the current work's correlation and causation ids
 * and trace context — so any event can be traced back to the request or message that caused it.
 */
export const metadataOf = (event: NewEvent): JsonObject => event.metadata ?? (outgoingMetadata() as JsonObject);

export const appendSpan = (appends: readonly StreamAppend[], system: string): SpanOptions => ({
  kind: SpanKind.CLIENT,
  attributes: {
    'db.system': system,
    'tally.streams': appends.length,
    'tally.events': appends.reduce((n, a) => n + a.events.length, 0),
  },
});
