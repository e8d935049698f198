import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalS3 } from '@tally/shared/data-access-archive/testing';
import { RunningTally, startTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, ScratchPostgres, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { adminToken, appModules, deleteStreams, http, startApp } from './support';

/** Failed archive passes of the process, as its /metrics counts them. */
const sealFailures = async (app: RunningTally): Promise<number> => {
  const answer = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
  return Number(/^tally_archive_seal_failures_total (\d+)/m.exec(await answer.text())?.[1] ?? 'NaN');
};

/**
 * The archive's passes when the object store goes away: a pass fails (logged, counted, answered 503), the process
 * goes on, and the next pass — scheduled, every second here — completes once S3 is back, sealing what the failed
 * one could not. S3 is a real S3-compatible server (s3rver) of this test's own, stopped and restarted on its port.
 */
describe('archive passes with the object store away', () => {
  const namespace = uniqueName('archfault');
  let s3: LocalS3;
  let attribution: RunningTally;

  const append = () =>
    attribution.runtime.eventStore.appendToStream(`usage-default_acct.2026-02`, [
      { id: randomUUID(), type: 'UsageRecorded', data: { q: '1.000000000000000000001' }, metadata: {} },
    ]);
  const status = async () => (await http('GET', `${attribution.url}/v1/admin/archive`)).body;
  const failures = () => sealFailures(attribution);

  beforeAll(async () => {
    s3 = await LocalS3.start();
    attribution = await startApp('attribution', namespace, {
      TALLY_ARCHIVE: 's3',
      TALLY_ARCHIVE_S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
      TALLY_ARCHIVE_S3_BUCKET: s3.bucket,
      TALLY_ARCHIVE_S3_ACCESS_KEY_ID: 'S3RVER',
      TALLY_ARCHIVE_S3_SECRET_ACCESS_KEY: 'S3RVER',
      TALLY_ARCHIVE_AFTER_DAYS: '0',
      TALLY_ARCHIVE_INTERVAL_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await attribution?.close();
    await s3?.dispose();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('fails a pass while S3 is away, keeps running, and seals everything at the next pass once it is back', async () => {
    await append();
    await eventually(status, (s) => s.rows === 1, 10_000);

    await s3.stop();
    await append();
    await append();
    // The scheduled passes fail on their own; one asked for fails too (409 while a scheduled one runs: asked again).
    await eventually(status, (s) => /unavailable/.test(s.lastPass?.error ?? ''), 10_000);
    const failed = await eventually(
      () => http('POST', `${attribution.url}/v1/admin/archive/passes`),
      (answer) => answer.status !== 409,
      10_000,
    );
    expect(failed.status).toBe(503);
    expect(failed.body.type).toBe('https://tally.dev/problems/archive-pass-failed');
    expect(failed.body.detail).toMatch(/archive-store-unavailable|archive store unavailable/);
    expect(await failures()).toBeGreaterThan(0);
    const during = await status();
    expect(during).toMatchObject({ store: 's3', rows: 1 });
    expect(during.lastPass.error).toMatch(/unavailable/);

    // Back: the scheduled pass (every second) seals the two rows, with no request asking it to.
    await s3.resume();
    const after = await eventually(status, (s) => s.rows === 3 && s.lastPass?.error === null, 15_000);
    expect(after.sealedThrough).not.toBe(during.sealedThrough);
    // The process served all along.
    expect((await http('GET', `${attribution.url}/health/live`)).status).toBe(200);
  }, 60_000);
});

/**
 * Postgres (a scratch server of this test's own) stopped under the archive's passes: they fail — counted, logged —
 * and the process goes on; restarted, the next scheduled pass seals what was appended before the stop.
 */
describe('archive passes with Postgres away', () => {
  const namespace = uniqueName('archpg');
  const archiveDir = mkdtempSync(join(tmpdir(), 'tally-archive-pg-'));
  let postgres: ScratchPostgres;
  let attribution: RunningTally;

  const failures = () => sealFailures(attribution);
  const status = async () => (await http('GET', `${attribution.url}/v1/admin/archive`)).body;

  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    attribution = await startTally({
      apps: ['attribution'],
      modules: [appModules.attribution()],
      env: {
        DATABASE_URL: postgres.url(),
        NATS_URL: testNatsUrl(),
        TALLY_NAMESPACE: namespace,
        PORT: '0',
        TALLY_ADMIN_TOKEN: adminToken,
        TALLY_ARCHIVE: 'filesystem',
        TALLY_ARCHIVE_DIR: archiveDir,
        TALLY_ARCHIVE_AFTER_DAYS: '0',
        TALLY_ARCHIVE_INTERVAL_SECONDS: '1',
      },
      log: () => undefined,
    });
  });

  afterAll(async () => {
    await attribution?.close();
    await postgres?.destroy();
    await deleteStreams(namespace);
    rmSync(archiveDir, { recursive: true, force: true });
  });

  it('fails passes while Postgres is stopped, and seals what was appended once it is back', async () => {
    await attribution.runtime.eventStore.appendToStream('usage-default_acct.2026-02', [
      { id: randomUUID(), type: 'UsageRecorded', data: { q: '2.5' }, metadata: {} },
    ]);
    await eventually(status, (s) => s.rows === 1, 10_000);
    await attribution.runtime.eventStore.appendToStream('account-default_acct', [
      { id: randomUUID(), type: 'AccountOpened', data: { accountId: 'acct' }, metadata: {} },
    ]);
    const before = await failures();

    await postgres.stop();
    // Scheduled passes fail (every second) while the process keeps answering.
    await eventually(failures, (n) => n >= before + 2, 15_000);
    expect((await http('GET', `${attribution.url}/health/live`)).status).toBe(200);

    await postgres.start();
    const after = await eventually(
      () => status().catch(() => undefined),
      (s) => s?.rows === 2 && s.lastPass?.error === null,
      30_000,
    );
    expect(after).toMatchObject({ files: 2, store: 'filesystem' });
  }, 90_000);
});
