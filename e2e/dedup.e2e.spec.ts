import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecordedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, uniqueName } from '@tally/shared/testing';
import { createProducerKey, deleteStreams, http, ledgerEvents, startApp, usageEvent } from './support';

const second = 1_000;
const hour = 3_600_000;
const day = 86_400_000;

/**
 * Exact dedup, driven by a controllable clock: the same (source, id) retried 1 s, 1 h and 30 days
 * later — past JetStream's duplicate window (shortened here to 300 ms) and across restarts of every
 * process — is answered `duplicate` (intake finds the first copy in the status table) and counted once;
 * retried after the lateness horizon it is refused as too late.
 */
describe('exact dedup across time and restarts', () => {
  const namespace = uniqueName('dedup');
  const start = Date.now();
  let now = start;
  const clock = () => new Date(now);
  const env = { TALLY_NATS_DUPLICATE_WINDOW_MS: '300' };
  let ingestion: RunningTally;
  let attribution: RunningTally;
  let key: string;
  const startApps = async () => {
    ingestion = await startApp('ingestion', namespace, env, clock);
    attribution = await startApp('attribution', namespace, env);
  };
  const restartApps = async () => {
    await ingestion.close();
    await attribution.close();
    await startApps();
  };
  const recorded = async (eventId: string) =>
    (await ledgerEvents(attribution.runtime.eventStore, [usageRecordedType])).filter((e) => e.data.eventId === eventId)
      .length;
  // The event happened a minute before the first send.
  const event = usageEvent('evt-retried', 'inst-1', new Date(start - 60 * second).toISOString());
  const send = async (at: number) => {
    now = at;
    await new Promise((resolve) => setTimeout(resolve, 400)); // outlive JetStream's duplicate window in real time
    return http('POST', `${ingestion.url}/v1/events`, [event], 'application/json', key);
  };
  /** The first copy is known to intake: the status consumer has recorded it as accepted. */
  const known = () =>
    eventually(
      () =>
        http(
          'GET',
          `${ingestion.url}/v1/events/status?source=${encodeURIComponent(event.source)}&id=${event.id}`,
          undefined,
          'application/json',
          key,
        ),
      (r) => r.status === 200 && r.body.timestamps.acceptedAt !== null,
      10_000,
    );
  let marker = 0;
  const settled = async () => {
    // A fresh event sent after the retries: once it is in the ledger, every retry before it has been processed.
    const id = `marker-${marker++}`;
    await http(
      'POST',
      `${ingestion.url}/v1/events`,
      [usageEvent(id, 'inst-1', new Date(now - second).toISOString())],
      'application/json',
      key,
    );
    await eventually(
      () => recorded(id),
      (n) => n === 1,
      10_000,
    );
  };

  beforeAll(async () => {
    await startApps();
    key = await createProducerKey(ingestion.url);
  });
  afterAll(async () => {
    await ingestion?.close();
    await attribution?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('counts the event once however far apart the retries are inside the horizon', async () => {
    expect((await send(start)).body.results[0].status).toBe('accepted');
    await known();
    // JetStream's window has passed (a new message for it): the status table knows the first copy. The retry is
    // published all the same, and the ledger counts it once.
    expect((await send(start + second)).body.results[0].status).toBe('duplicate');
    await settled();
    expect(await recorded('evt-retried')).toBe(1);

    await restartApps();
    expect((await send(start + hour)).body.results[0].status).toBe('duplicate');
    await restartApps();
    expect((await send(start + 30 * day)).body.results[0].status).toBe('duplicate');
    await settled();
    expect(await recorded('evt-retried')).toBe(1);
  }, 60_000);

  it('refuses a retry after the horizon as too late, and still counts the event once', async () => {
    const late = await send(start + 36 * day);
    expect(late.body.results[0]).toMatchObject({
      status: 'rejected',
      errors: [{ field: 'time', message: 'time is older than the lateness horizon (35 days)' }],
    });
    await settled();
    expect(await recorded('evt-retried')).toBe(1);
  }, 30_000);
});
