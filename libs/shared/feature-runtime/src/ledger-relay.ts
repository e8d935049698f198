import { Webhook } from 'standardwebhooks';
import {
  Consumer,
  decodeJson,
  Delivery,
  encodeJson,
  PoisonMessageError,
  StreamSpec,
} from '@tally/shared/data-access-messaging';
import { Projection } from '@tally/shared/data-access-postgres';
import type { RecordedEvent } from '@tally/shared/data-access-event-store';
import type { EventGuard, LedgerEvent } from '@tally/shared/util-core';
import { TallyRuntime } from './runtime';
import { otelContext, remoteContext, telemetryOfMetadata, withTelemetry } from '@tally/shared/util-telemetry';

/**
 * Relays ledger events to NATS (never a dual write): a projection whose "rows" are publishes, the ledger
 * event id as message id, so a relay that crashes after publishing and publishes again is a duplicate.
 */
export const ledgerRelay = <E extends LedgerEvent>(
  runtime: TallyRuntime,
  name: string | { name: string; formerNames: readonly string[] },
  events: EventGuard<E>,
  subjectOf: (event: RecordedEvent<E>) => string,
): Projection<E> => ({
  ...(typeof name === 'string' ? { name } : name),
  eventTypes: events.types,
  tables: [],
  // Webhooks arriving late hold back no request this process serves.
  gatesReadiness: false,
  apply: async (_tx, events) => {
    for (const event of events)
      // Published as the event's continuation: its correlation id, the event as causation, its trace.
      await withTelemetry(telemetryOfMetadata(event.metadata, event.id), () =>
        otelContext.with(remoteContext(event.metadata), () =>
          runtime.bus.publish(subjectOf(event), encodeJson({ id: event.id, type: event.type, data: event.data }), {
            msgId: event.id,
          }),
        ),
      );
  },
});

export interface WebhookSpec {
  /** For messages: 'budget', 'invoice'. */
  kind: string;
  url: string | undefined;
  /** Standard Webhooks secrets (`whsec_…`): every one signs each delivery (rotation). */
  secrets: readonly string[] | undefined;
  /** Names of the variables, for the start-up error. */
  urlVariable: string;
  secretVariable: string;
  stream: StreamSpec;
  durable: string;
  filterSubject: string;
}

/** `webhook-signature`: one `v1,<base64>` per secret, space-separated, as Standard Webhooks receivers verify it. */
const webhookSignature = (secrets: readonly string[], id: string, at: Date, body: string): string =>
  secrets.map((secret) => new Webhook(secret).sign(id, at, body)).join(' ');

/**
 * Delivers relayed events to a webhook, the Standard Webhooks way: POST JSON with `webhook-id` (the ledger
 * event id: receivers dedupe on it), `webhook-timestamp` (unix seconds) and `webhook-signature`; receivers
 * verify with any Standard Webhooks library and refuse timestamps more than 5 minutes off. Redirects are not
 * followed. A receiver that is down, slow or answers 5xx/408/425/429 is retried without limit (the bus's
 * capped backoff); one that refuses the event (any other 4xx) or redirects is dead-lettered at once —
 * replay it once the receiver is fixed.
 */
export const startSignedWebhooks = async (runtime: TallyRuntime, spec: WebhookSpec): Promise<Consumer | undefined> => {
  const { url, secrets } = spec;
  if (!url) return undefined;
  if (!secrets || secrets.length === 0)
    throw new Error(
      `${spec.urlVariable} is set but ${spec.secretVariable} is not: ${spec.kind} webhooks must be signed`,
    );
  await runtime.bus.ensureStream(spec.stream);
  const counted = (outcome: 'delivered' | 'retried' | 'refused') =>
    runtime.metrics.webhookDeliveries.inc({ kind: spec.kind, outcome });
  return runtime.bus.consume(
    {
      stream: spec.stream.name,
      durable: spec.durable,
      filterSubject: spec.filterSubject,
      batchSize: 1,
      backoff: { initialMs: 1_000, maxMs: 60_000 },
    },
    async ([delivery]: readonly Delivery[]) => {
      const body = new TextDecoder().decode(delivery.data);
      const { id } = decodeJson(
        delivery.data,
        (value): value is { id: string } => typeof (value as { id?: unknown })?.id === 'string',
        `${spec.kind} event`,
      );
      // The wall clock, not the billing clock: receivers compare the timestamp with theirs (replay protection).
      const at = new Date();
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1_000)),
          'webhook-signature': webhookSignature(secrets, id, at, body),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(10_000),
      }).catch((error: unknown) => {
        counted('retried'); // down or slow
        throw error;
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.ok) return counted('delivered');
      if (response.status >= 300 && response.status < 400) {
        counted('refused');
        throw new PoisonMessageError(
          `${spec.kind} webhook redirected (${response.status}); redirects are not followed: set ${spec.urlVariable} to the final URL`,
        );
      }
      const refused = response.status >= 400 && response.status < 500 && ![408, 425, 429].includes(response.status);
      counted(refused ? 'refused' : 'retried');
      throw refused
        ? new PoisonMessageError(`${spec.kind} webhook refused the event: ${response.status}`)
        : new Error(`${spec.kind} webhook answered ${response.status}`);
    },
  );
};
