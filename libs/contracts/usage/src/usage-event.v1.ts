import type { FieldError } from '@tally/shared/util-core';
/**
 * The telemetry contract, v1: a CloudEvents 1.0 JSON event describing usage.
 *   { "specversion": "1.0", "id": "…", "source": "//fn-runtime/eu-1", "type": "fn.invocation",
 *     "subject": "installation-42", "time": "2026-11-25T10:00:00Z", "data": { … } }
 * (tenant, source, id) identifies an event: the same triple is counted once, however often it is sent.
 */
export interface UsageEventV1 {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject: string;
  /** RFC 3339; intake fills in its receive time when absent. */
  time: string;
  datacontenttype?: string;
  data: Record<string, unknown>;
}

/**
 * What ingestion puts on JetStream once events are accepted (subject `usageReceivedSubject`): one
 * message carries a request's events (split to stay under the message size limit), which is what lets
 * one publisher go well past JetStream's per-message rate. Numbers inside `data` arrive as decimal strings.
 */
export interface UsageBatchV1 {
  tenant: string;
  receivedAt: string;
  events: UsageEventV1[];
}

/** JetStream stream holding accepted usage, and its subject (both before namespacing). */
export const ingestionStream = { name: 'INGESTION', subjects: ['ingestion.evt.>'] } as const;
export const usageReceivedSubject = 'ingestion.evt.usage-received.v1';

/**
 * Limits of the v1 contract (documented in docs/telemetry-contract.md). Field lengths are in UTF-16
 * code units; `data` is measured as its JSON text.
 */
export const usageLimits = {
  idLength: 256,
  sourceLength: 512,
  typeLength: 256,
  subjectLength: 512,
  dataBytes: 16 * 1024,
  /** Levels of objects and arrays in `data`, the event's data object itself being the first. */
  dataDepth: 32,
  batchEvents: 1_000,
  bodyBytes: 5 * 1024 * 1024,
  /** An event's time may be at most this far ahead of the receive time. */
  maxFutureMs: 5 * 60_000,
} as const;

/** Events intake refused, kept so that `GET /v1/events/status` can say why (subject `usageRejectedSubject`). */
export const usageRejectedSubject = 'ingestion.evt.usage-rejected.v1';
export interface UsageRejectedV1 {
  tenant: string;
  receivedAt: string;
  events: { source: string; id: string; errors: FieldError[] }[];
}

/**
 * A producer's correction of an event it sent, by (source, id): `void` takes it out of usage,
 * `amend` replaces its `data` (type, subject and time cannot be amended: void and send a new event).
 */
export type UsageCorrectionV1 =
  | { action: 'void'; source: string; id: string; reason: string }
  | { action: 'amend'; source: string; id: string; reason: string; data: Record<string, unknown> };

export const usageCorrectedSubject = 'ingestion.evt.usage-corrected.v1';
export interface UsageCorrectionBatchV1 {
  tenant: string;
  receivedAt: string;
  corrections: UsageCorrectionV1[];
}

/**
 * NATS intake for internal producers (request/reply, core NATS): the request body is what
 * `POST /v1/events` takes (one event or an array), with header `Authorization: Bearer <API key>`;
 * the reply is what it answers — the per-event results, or a problem document with its `status`.
 */
export const ingestCommandSubject = 'ingestion.cmd.ingest.v1';
