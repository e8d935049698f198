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

/** What ingestion puts on JetStream once an event is accepted (subject `usageReceivedSubject`). */
export interface UsageReceivedV1 {
  tenant: string;
  receivedAt: string;
  event: UsageEventV1;
}

/** JetStream stream holding accepted usage, and its subject (both before namespacing). */
export const ingestionStream = { name: 'INGESTION', subjects: ['ingestion.evt.>'] } as const;
export const usageReceivedSubject = 'ingestion.evt.usage-received.v1';

/** The JetStream message id of an accepted event: JetStream drops quick re-sends inside its window. */
export const usageMessageId = (tenant: string, source: string, id: string): string => `${tenant}:${source.length}:${source}:${id}`;
