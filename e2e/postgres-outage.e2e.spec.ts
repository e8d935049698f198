import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecordedType } from '@tally/contracts/usage';
import { deleteNatsStreams, eventually, ScratchPostgres, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { adminToken, appModules, createProducerKey, http, ledgerEvents, usageEvent } from './support';
import { RunningTally, startTally } from '@tally/shared/feature-runtime';

const root = resolve(__dirname, '..');

/**
 * Postgres stops while attribution works through a backlog (ledger writes, registry, status updates all
 * fail): no process dies, intake answers 503 (never 500) or keeps accepting with keys it verified, nothing
 * is dead-lettered, and once Postgres is back every accepted event is in the ledger exactly once, its
 * status recorded, and every projection reports running again — with or without new events.
 */
describe('Postgres stopped under load', () => {
  const namespace = uniqueName('pgout');
  let postgres: ScratchPostgres;
  let ingestion: RunningTally;
  let aggregation: RunningTally;
  let attribution: ChildProcess | undefined;
  let attributionLog = '';
  let key: string;
  const ids: string[] = [];

  const start = (app: 'ingestion' | 'aggregation') =>
    startTally({
      apps: [app],
      modules: [appModules[app]()],
      env: {
        DATABASE_URL: postgres.url(),
        NATS_URL: testNatsUrl(),
        TALLY_NAMESPACE: namespace,
        PORT: '0',
        TALLY_ADMIN_TOKEN: adminToken,
        TALLY_ACK_WAIT_MS: '5000',
      },
      log: () => undefined,
    });
  const counts = async () => {
    const byId = new Map<string, number>();
    for (const e of await ledgerEvents(ingestion.runtime.eventStore, [usageRecordedType]))
      byId.set(e.data.eventId as string, (byId.get(e.data.eventId as string) ?? 0) + 1);
    return byId;
  };

  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    ingestion = await start('ingestion');
    aggregation = await start('aggregation');
    key = await createProducerKey(ingestion.url);
    for (let r = 0; r < 60; r++) {
      const batch = Array.from({ length: 500 }, (_, i) => usageEvent(`o${r}-${i}`, `inst-${i % 7}`));
      ids.push(...batch.map((e) => e.id));
      expect((await http('POST', `${ingestion.url}/v1/events`, batch, 'application/json', key)).body.accepted).toBe(
        500,
      );
    }
    attribution = spawn(process.execPath, ['tools/run-ts.cjs', 'apps/attribution/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: postgres.url(),
        NATS_URL: testNatsUrl(),
        TALLY_NAMESPACE: namespace,
        PORT: '0',
        TALLY_ADMIN_TOKEN: adminToken,
        TALLY_ACK_WAIT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    attribution.stdout?.on('data', (chunk) => (attributionLog = (attributionLog + chunk).slice(-20_000)));
    attribution.stderr?.on('data', (chunk) => (attributionLog = (attributionLog + chunk).slice(-20_000)));
    await eventually(
      async () => attributionLog,
      (log) => log.includes('listening'),
      60_000,
    );
  }, 180_000);
  afterAll(async () => {
    attribution?.kill('SIGKILL');
    await ingestion?.close().catch(() => undefined);
    await aggregation?.close().catch(() => undefined);
    await deleteNatsStreams(namespace);
    await postgres?.destroy();
  });

  it('rides out the outage: no process dies, intake answers 503 or keeps accepting, and afterwards every event counts once', async () => {
    // Stopped as soon as the ledger writer is under way (a cheap count, polled closely): mid-backlog.
    const recorded = async () =>
      Number(
        (
          await postgres
            .query<{ n: string }>(
              `select count(*) as n from "${namespace}_ledger".events where event_type = 'UsageRecorded'`,
            )
            .catch(() => [{ n: '0' }])
        )[0].n,
      );
    const before = await eventually(recorded, (n) => n >= 500, 60_000);
    await postgres.stop();
    expect(before).toBeLessThan(ids.length); // the backlog is still being worked through

    // Intake: a key verified moments ago still works (into JetStream); one never seen cannot be checked: 503, not 500.
    const during = Array.from({ length: 100 }, (_, i) => usageEvent(`during-${i}`, 'inst-1'));
    expect((await http('POST', `${ingestion.url}/v1/events`, during, 'application/json', key)).status).toBe(200);
    ids.push(...during.map((e) => e.id));
    const unknown = await fetch(`${ingestion.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer tally_never-seen-key' },
      body: JSON.stringify([usageEvent('x', 'inst-1')]),
    });
    expect(unknown.status).toBe(503);
    expect(unknown.headers.get('retry-after')).toBe('1');
    expect(await unknown.json()).toMatchObject({ type: 'https://tally.dev/problems/auth-unavailable' });
    // Reads that need Postgres: 503 with Retry-After, never 500.
    const read = await fetch(`${aggregation.url}/v1/usage?accountId=acme`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(read.status).toBe(503);
    expect(read.headers.get('retry-after')).toBe('1');
    // The intake rate is counted in Postgres (shared by every ingestion process): 503 too, not a stale or zero count.
    const intakeRate = await fetch(`${ingestion.url}/v1/admin/intake`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(intakeRate.status).toBe(503);
    expect(intakeRate.headers.get('retry-after')).toBe('1');
    // Readiness says degraded while Postgres is away.
    expect(
      (await http('GET', `${ingestion.url}/health/ready`, undefined, 'application/json', null)).body,
    ).toMatchObject({ status: 'degraded', checks: { postgres: 'down', bus: 'up' } });
    expect((await fetch(`${ingestion.url}/health/ready`)).status).toBe(503);

    await new Promise((resolve) => setTimeout(resolve, 12_000));
    expect(attribution?.exitCode, attributionLog.slice(-4000)).toBeNull();
    await postgres.start();

    const final = await eventually(counts, (c) => c.size === ids.length, 90_000);
    expect(ids.filter((id) => final.get(id) !== 1)).toEqual([]);
    expect(attribution?.exitCode, attributionLog.slice(-4000)).toBeNull();
    // Nothing was given up on.
    expect((await http('GET', `${ingestion.url}/v1/admin/dead-letters`)).body.deadLetters).toEqual([]);
    // Status updates that failed during the outage were retried: every event's status shows it recorded.
    const status = await eventually(
      () => http('GET', `${ingestion.url}/v1/events/status?source=${encodeURIComponent('//fn-runtime/eu-1')}&id=o0-0`),
      (r) => r.status === 200 && r.body.timestamps.recordedAt !== null && r.body.timestamps.acceptedAt !== null,
      30_000,
    );
    expect(status.body).toMatchObject({ id: 'o0-0' });
    // Every projection runs again, including those no event has reached since the outage.
    for (const app of [ingestion, aggregation]) {
      await eventually(
        () => http('GET', `${app.url}/v1/admin/projections`),
        (r) => r.body.projections.every((p: { status: string }) => p.status === 'running'),
        20_000,
      );
      await eventually(
        () => http('GET', `${app.url}/health/ready`, undefined, 'application/json', null),
        (r) => r.status === 200 && r.body.status === 'ok',
        20_000,
      );
    }
  }, 240_000);
});
