import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageReceivedSubject } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { adminToken, deleteStreams, http, startApp } from './support';

const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, ['tools/run-ts.cjs', 'tools/cli/main.ts', ...args, '--json'], {
    cwd: resolve(__dirname, '..'),
    env: { ...process.env, TALLY_ADMIN_TOKEN: adminToken },
  });

/**
 * A message no consumer can ever handle (here a foreign publish of garbage onto the usage subject) is
 * dead-lettered at once by each consumer of the subject, with the reason; operators list it and replay it
 * through the admin endpoints and the CLI; a replay is idempotent; the ledger never saw it.
 */
describe('dead letters: inspect and replay', () => {
  const namespace = uniqueName('dlq');
  let ingestion: RunningTally;
  let attribution: RunningTally;
  const letters = async () =>
    (await http('GET', `${ingestion.url}/v1/admin/dead-letters`)).body.deadLetters as {
      id: string;
      consumer: string;
      reason: string;
      body: string;
    }[];

  beforeAll(async () => {
    ingestion = await startApp('ingestion', namespace);
    attribution = await startApp('attribution', namespace);
    const nc = await connect({ servers: testNatsUrl() });
    await jetstream(nc).publish(
      `${namespace}.${usageReceivedSubject}`,
      new TextEncoder().encode('{"tenant":"default","events":"not a list"}'),
      { msgID: 'garbage-1' },
    );
    await nc.close();
  });
  afterAll(async () => {
    await attribution?.close();
    await ingestion?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('lists what each consumer gave up on, with why, and replays it on demand (REST and CLI)', async () => {
    const found = await eventually(letters, (l) => l.length === 2, 15_000);
    expect(found.map((l) => l.consumer).sort()).toEqual(['attribution_ledger', 'ingestion_status']);
    expect(
      found.every((l) => l.reason === 'usage batch does not have the expected shape' && l.body.includes('not a list')),
    ).toBe(true);
    expect(
      (await http('GET', `${ingestion.url}/v1/admin/dead-letters?consumer=attribution_ledger`)).body.deadLetters,
    ).toHaveLength(1);
    expect((await http('GET', `${ingestion.url}/v1/admin/dead-letters?limit=0`)).status).toBe(400);
    // Consumers are running, not stalled: a poison message does not hold anything back.
    const consumers = (await http('GET', `${attribution.url}/v1/admin/consumers`)).body.consumers as {
      durable: string;
      state: string;
      deadLettered: number;
    }[];
    expect(consumers.find((c) => c.durable === 'attribution_ledger')).toMatchObject({
      state: 'running',
      deadLettered: 1,
    });

    // Replayed as it is, it is still garbage: each consumer dead-letters it again, under a new id.
    const [first] = found;
    const replayed = JSON.parse((await cli('dead-letters', 'replay', first.id, '--url', ingestion.url)).stdout);
    expect(replayed).toEqual({ id: first.id, status: 'replayed' });
    expect((await http('POST', `${ingestion.url}/v1/admin/dead-letters/${first.id}/replay`)).status).toBe(404);
    const after = await eventually(letters, (l) => l.length >= 3 && !l.some((d) => d.id === first.id), 15_000);
    expect(after.every((l) => Number(l.id) > 0)).toBe(true);
    const listed = JSON.parse((await cli('dead-letters', 'list', '--url', ingestion.url)).stdout);
    expect(listed.deadLetters.length).toBe(after.length);

    const all = await http('POST', `${ingestion.url}/v1/admin/dead-letters/replay`, { consumer: 'ingestion_status' });
    expect(all.body.replayed).toBeGreaterThanOrEqual(1);
    // Nothing of it ever reached the ledger.
    expect(await attribution.runtime.eventStore.readAll({ eventTypes: ['UsageRecorded'] })).toEqual([]);
  });
});
