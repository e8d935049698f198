import { createHmac } from 'node:crypto';
import { Consumer, decodeJson, Delivery, encodeJson, PoisonMessageError, StreamSpec } from '@tally/shared/data-access-messaging';
import { Projection } from '@tally/shared/data-access-postgres';
import type { RecordedEvent } from '@tally/shared/data-access-event-store';
import { TallyRuntime } from './runtime';

/**
 * Relays ledger events to NATS (never a dual write): a projection whose "rows" are publishes, the ledger
 * event id as message id, so a relay that crashes after publishing and publishes again is a duplicate.
 */
export const ledgerRelay = (runtime: TallyRuntime, name: string, eventTypes: readonly string[], subjectOf: (event: RecordedEvent) => string): Projection => ({
  name,
  eventTypes,
  tables: [],
  apply: async (_tx, events) => {
    for (const event of events) await runtime.bus.publish(subjectOf(event), encodeJson({ id: event.id, type: event.type, data: event.data }), { msgId: event.id });
  },
});

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe-style receivers verify it. */
export const signature = (secret: string, timestamp: number, body: string): string =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export interface WebhookSpec {
  /** For messages: 'budget', 'invoice'. */
  kind: string;
  url: string | undefined;
  secret: string | undefined;
  /** Names of the variables, for the start-up error. */
  urlVariable: string;
  secretVariable: string;
  stream: StreamSpec;
  durable: string;
  filterSubject: string;
}

/**
 * Delivers relayed events to a webhook: POST JSON with `Tally-Event-Id` and `Tally-Signature`. A receiver
 * that is down, slow or answers 5xx/408/429 is retried without limit (the bus's capped backoff); one that
 * refuses the event (any other 4xx) is dead-lettered at once — replay it once the receiver is fixed.
 * Receivers dedupe on the id.
 */
export const startSignedWebhooks = async (runtime: TallyRuntime, spec: WebhookSpec): Promise<Consumer | undefined> => {
  const { url, secret } = spec;
  if (!url) return undefined;
  if (!secret) throw new Error(`${spec.urlVariable} is set but ${spec.secretVariable} is not: ${spec.kind} webhooks must be signed`);
  await runtime.bus.ensureStream(spec.stream);
  return runtime.bus.consume(
    { stream: spec.stream.name, durable: spec.durable, filterSubject: spec.filterSubject, batchSize: 1, backoff: { initialMs: 1_000, maxMs: 60_000 } },
    async ([delivery]: readonly Delivery[]) => {
      const body = new TextDecoder().decode(delivery.data);
      const { id } = decodeJson(delivery.data, (value): value is { id: string } => typeof (value as { id?: unknown })?.id === 'string', `${spec.kind} event`);
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'tally-event-id': id, 'tally-signature': signature(secret, Math.floor(runtime.clock().getTime() / 1_000), body) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      if (response.ok) return;
      const refused = response.status >= 400 && response.status < 500 && ![408, 425, 429].includes(response.status);
      throw refused ? new PoisonMessageError(`${spec.kind} webhook refused the event: ${response.status}`) : new Error(`${spec.kind} webhook answered ${response.status}`);
    },
  );
};
