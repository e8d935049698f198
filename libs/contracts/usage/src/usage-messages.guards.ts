import { UsageBatchV1, UsageCorrectionBatchV1, UsageRejectedV1 } from './usage-event.v1';

/**
 * Shape checks of the messages on the ingestion stream. Intake validated every event before publishing;
 * what these catch is a message that cannot have come from intake (a foreign publisher, a hand-made
 * replay): consumers dead-letter it instead of failing on it forever.
 */
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isEnvelope = (value: unknown, list: string): value is Record<string, unknown> =>
  isRecord(value) &&
  isText(value.tenant) &&
  isText(value.receivedAt) &&
  !Number.isNaN(Date.parse(value.receivedAt)) &&
  Array.isArray(value[list]);

export const isUsageBatchV1 = (value: unknown): value is UsageBatchV1 =>
  isEnvelope(value, 'events') &&
  (value.events as unknown[]).every(
    (e) =>
      isRecord(e) &&
      isText(e.id) &&
      isText(e.source) &&
      isText(e.type) &&
      isText(e.subject) &&
      isText(e.time) &&
      !Number.isNaN(Date.parse(e.time)) &&
      isRecord(e.data),
  );

export const isUsageRejectedV1 = (value: unknown): value is UsageRejectedV1 =>
  isEnvelope(value, 'events') &&
  (value.events as unknown[]).every((e) => isRecord(e) && isText(e.id) && isText(e.source) && Array.isArray(e.errors));

export const isUsageCorrectionBatchV1 = (value: unknown): value is UsageCorrectionBatchV1 =>
  isEnvelope(value, 'corrections') &&
  (value.corrections as unknown[]).every(
    (c) =>
      isRecord(c) &&
      isText(c.id) &&
      isText(c.source) &&
      typeof c.reason === 'string' &&
      (c.action === 'void' || (c.action === 'amend' && isRecord(c.data))),
  );
