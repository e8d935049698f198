import { createHmac } from 'node:crypto';
import { aggregationStream, budgetThresholdCrossedSubject, budgetThresholdCrossedType } from '@tally/contracts/meters';
import { Consumer, Delivery, encodeJson } from '@tally/shared/data-access-messaging';
import { Projection } from '@tally/shared/data-access-postgres';
import { TallyRuntime } from '@tally/shared/feature-runtime';

/**
 * Relays alerts from the ledger to NATS (never a dual write): the ledger event id is the message id,
 * so a relay that crashes after publishing and publishes again is recognised as a duplicate.
 */
export const budgetAlertRelay = (runtime: TallyRuntime): Projection => ({
  name: 'budget_alert_relay',
  eventTypes: [budgetThresholdCrossedType],
  reset: async () => undefined,
  apply: async (_tx, events) => {
    for (const event of events) {
      await runtime.bus.publish(budgetThresholdCrossedSubject, encodeJson({ id: event.id, type: event.type, data: event.data }), { msgId: event.id });
    }
  },
});

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe-style receivers verify it. */
export const signature = (secret: string, timestamp: number, body: string): string =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

/**
 * Delivers alerts to the configured webhook: POST JSON with `Tally-Event-Id` and `Tally-Signature`;
 * anything but a 2xx is retried with backoff (the bus's), then dead-lettered. Receivers dedupe on the id.
 */
export const startBudgetWebhooks = async (runtime: TallyRuntime): Promise<Consumer | undefined> => {
  const url = runtime.config.TALLY_BUDGET_WEBHOOK_URL;
  const secret = runtime.config.TALLY_BUDGET_WEBHOOK_SECRET;
  if (!url) return undefined;
  if (!secret) throw new Error('TALLY_BUDGET_WEBHOOK_URL is set but TALLY_BUDGET_WEBHOOK_SECRET is not: budget webhooks must be signed');
  await runtime.bus.ensureStream(aggregationStream);
  return runtime.bus.consume({ stream: aggregationStream.name, durable: 'aggregation_budget_webhooks', filterSubject: budgetThresholdCrossedSubject, batchSize: 1, backoffMs: [1_000, 5_000, 30_000] }, async ([delivery]: readonly Delivery[]) => {
    const body = new TextDecoder().decode(delivery.data);
    const { id } = JSON.parse(body) as { id: string };
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'tally-event-id': id, 'tally-signature': signature(secret, Math.floor(runtime.clock().getTime() / 1_000), body) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) throw new Error(`budget webhook answered ${response.status}`);
  });
};
