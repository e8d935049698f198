import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecordedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { adminToken, createProducerKey, deleteStreams, http, ledgerEvents, startApp, usageEvent } from './support';

const root = resolve(__dirname, '..');

/** The ledger writer dies mid-stream (kill -9) and restarts: every event is in the ledger exactly once. */
describe('kill -9 of attribution mid-stream', () => {
  const namespace = uniqueName('attrkill');
  let ingestion: RunningTally;
  let attribution: ChildProcess | undefined;
  const startAttribution = async () => {
    attribution = spawn(process.execPath, ['tools/run-ts.cjs', 'apps/attribution/src/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: testDatabaseUrl(),
        NATS_URL: testNatsUrl(),
        TALLY_NAMESPACE: namespace,
        PORT: '0',
        TALLY_ADMIN_TOKEN: adminToken,
        TALLY_ACK_WAIT_MS: '2000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolveStarted, reject) => {
      let seen = '';
      attribution?.stdout?.on('data', (chunk) => (seen += chunk) && seen.includes('listening') && resolveStarted());
      attribution?.once('exit', (code) => reject(new Error(`attribution exited with ${code}: ${seen}`)));
    });
  };
  const counts = async () => {
    const byId = new Map<string, number>();
    for (const e of await ledgerEvents(ingestion.runtime.eventStore, [usageRecordedType]))
      byId.set(e.data.eventId as string, (byId.get(e.data.eventId as string) ?? 0) + 1);
    return byId;
  };

  const pg = new Pool({ connectionString: testDatabaseUrl(), max: 1 });

  beforeAll(async () => {
    ingestion = await startApp('ingestion', namespace);
  });
  afterAll(async () => {
    attribution?.kill('SIGKILL');
    await pg.end();
    await ingestion?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('holds every event exactly once after the restart', async () => {
    const key = await createProducerKey(ingestion.url);
    const ids: string[] = [];
    // Accepted (in JetStream) before the ledger writer even starts: a backlog it works through.
    for (let r = 0; r < 40; r++) {
      const batch = Array.from({ length: 250 }, (_, i) => usageEvent(`k${r}-${i}`, `inst-${i % 7}`));
      ids.push(...batch.map((e) => e.id));
      expect((await http('POST', `${ingestion.url}/v1/events`, batch, 'application/json', key)).body.accepted).toBe(
        250,
      );
    }
    await startAttribution();
    // Killed as soon as the first events are in the ledger (a cheap count: reading every event to count them let the
    // writer finish all 10,000 before the kill, and then nothing died mid-stream).
    const written = async () => {
      const [{ n }] = (
        await pg.query(`select count(*)::int as n from "${namespace}_ledger".events where event_type = $1`, [
          usageRecordedType,
        ])
      ).rows as { n: number }[];
      return n;
    };
    await eventually(written, (n) => n > 0, 20_000);
    const exited = new Promise((resolve) => attribution?.once('exit', resolve));
    attribution?.kill('SIGKILL');
    await exited;
    const before = await counts();
    const atKill = (await counts()).size;
    expect(atKill).toBeLessThan(ids.length); // it really died mid-stream
    expect(before.size).toBeGreaterThan(0);

    await startAttribution();
    const final = await eventually(counts, (c) => c.size === ids.length, 30_000);
    expect(ids.filter((id) => final.get(id) !== 1)).toEqual([]);
    expect([...final.values()].every((n) => n === 1)).toBe(true);
  }, 90_000);
});
