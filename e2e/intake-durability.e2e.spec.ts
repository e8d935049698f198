import { ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageRecordedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import {
  ScratchNats,
  dropSchemas,
  eventually,
  freePort,
  testDatabaseUrl,
  testNatsUrl,
  uniqueName,
} from '@tally/shared/testing';
import { adminToken, createProducerKey, deleteStreams, http, ledgerEvents, startApp, usageEvent } from './support';

const root = resolve(__dirname, '..');
const waitForOutput = (child: ChildProcess, text: string) =>
  new Promise<void>((resolveStarted, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => (seen += chunk) && seen.includes(text) && resolveStarted();
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before "${text}": ${seen}`)));
  });

/** Success means persisted: through a NATS outage and a kill -9 of ingestion. */
describe('durable accept', () => {
  describe('with NATS down', () => {
    const namespace = uniqueName('natsdown');
    // A server of the test's own, on a port it keeps across the kill and the restart (its store survives).
    let nats: ScratchNats | undefined;
    let ingestion: RunningTally;
    let key: string;

    beforeAll(async () => {
      nats = await ScratchNats.create();
      // One event in flight at most, so the outage also shows backpressure.
      ingestion = await startApp('ingestion', namespace, {
        NATS_URL: nats.url,
        TALLY_INTAKE_MAX_IN_FLIGHT_EVENTS: '1',
      });
      key = await createProducerKey(ingestion.url);
    });
    afterAll(async () => {
      await ingestion?.close();
      await nats?.destroy();
      await dropSchemas(namespace);
    });

    it('answers 503 with Retry-After while JetStream cannot persist, and recovers when it is back', async () => {
      expect(
        (await http('POST', `${ingestion.url}/v1/events`, [usageEvent('up-1', 'inst-1')], 'application/json', key))
          .status,
      ).toBe(200);
      await nats?.kill();
      const pending = http(
        'POST',
        `${ingestion.url}/v1/events`,
        [usageEvent('down-0', 'inst-1')],
        'application/json',
        key,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      // While that event waits for JetStream, intake is at capacity: it sheds load at once instead of queueing.
      const shed = await http(
        'POST',
        `${ingestion.url}/v1/events`,
        [usageEvent('down-shed', 'inst-1')],
        'application/json',
        key,
      );
      expect(shed).toMatchObject({
        status: 503,
        body: { type: 'https://tally.dev/problems/stream-unavailable', detail: expect.stringContaining('at capacity') },
      });
      expect((await pending).status).toBe(503);
      const down = await fetch(`${ingestion.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify([usageEvent('down-1', 'inst-1')]),
      });
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      expect(await down.json()).toMatchObject({ type: 'https://tally.dev/problems/stream-unavailable' });
      const openMeter = await http(
        'POST',
        `${ingestion.url}/api/v1/events`,
        usageEvent('down-2', 'inst-1'),
        'application/cloudevents+json',
        key,
      );
      expect(openMeter.status).toBe(503);

      await nats?.start();
      await eventually(
        () => http('POST', `${ingestion.url}/v1/events`, [usageEvent('down-1', 'inst-1')], 'application/json', key),
        (r) => r.status === 200,
        20_000,
      );
    }, 60_000);
  });

  describe('kill -9 of ingestion during a load run', () => {
    const namespace = uniqueName('kill9');
    let port = 0;
    let attribution: RunningTally;
    let ingestion: ChildProcess | undefined;
    let key: string;
    const startIngestion = async () => {
      ingestion = spawn(process.execPath, ['tools/run-ts.cjs', 'apps/ingestion/src/main.ts'], {
        cwd: root,
        env: {
          ...process.env,
          DATABASE_URL: testDatabaseUrl(),
          NATS_URL: testNatsUrl(),
          TALLY_NAMESPACE: namespace,
          PORT: String(port),
          TALLY_ADMIN_TOKEN: adminToken,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await waitForOutput(ingestion, 'listening');
    };

    beforeAll(async () => {
      port = await freePort();
      attribution = await startApp('attribution', namespace);
      await startIngestion();
      key = await createProducerKey(`http://127.0.0.1:${port}`);
    });
    afterAll(async () => {
      ingestion?.kill('SIGKILL');
      await attribution?.close();
      await deleteStreams(namespace);
      await dropSchemas(namespace);
    });

    it('every event that got a success answer is in the ledger exactly once', async () => {
      const acknowledged: string[] = [];
      const unanswered: string[][] = [];
      let request = 0;
      const load = Array.from({ length: 6 }, async () => {
        for (;;) {
          const ids = Array.from({ length: 200 }, (_, i) => `r${request}-e${i}`);
          request++;
          try {
            const response = await fetch(`http://127.0.0.1:${port}/v1/events`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
              body: JSON.stringify(ids.map((id) => usageEvent(id, 'inst-1'))),
            });
            if (response.status !== 200) throw new Error(`status ${response.status}`);
            const body = (await response.json()) as { results: { id: string; status: string }[] };
            acknowledged.push(
              ...body.results.filter((r) => r.status === 'accepted' || r.status === 'duplicate').map((r) => r.id),
            );
          } catch {
            unanswered.push(ids);
            return; // the process is gone
          }
        }
      });
      await eventually(
        () => Promise.resolve(acknowledged.length),
        (n) => n >= 4_000,
        20_000,
      );
      ingestion?.kill('SIGKILL');
      await Promise.all(load);
      expect(unanswered.length).toBeGreaterThan(0); // the kill really interrupted requests in flight

      const ledgerCounts = async () => {
        const counts = new Map<string, number>();
        for (const e of await ledgerEvents(attribution.runtime.eventStore, [usageRecordedType]))
          counts.set(e.data.eventId as string, (counts.get(e.data.eventId as string) ?? 0) + 1);
        return counts;
      };
      const counts = await eventually(ledgerCounts, (c) => acknowledged.every((id) => c.has(id)), 20_000);
      expect(acknowledged.filter((id) => counts.get(id) !== 1)).toEqual([]);

      // The producer retries what was never answered, against a restarted ingestion: still exactly once.
      await startIngestion();
      for (const ids of unanswered) {
        const retry = await http(
          'POST',
          `http://127.0.0.1:${port}/v1/events`,
          ids.map((id) => usageEvent(id, 'inst-1')),
          'application/json',
          key,
        );
        expect(retry.status).toBe(200);
      }
      const everything = [...acknowledged, ...unanswered.flat()];
      const final = await eventually(ledgerCounts, (c) => everything.every((id) => c.has(id)), 20_000);
      expect(everything.filter((id) => final.get(id) !== 1)).toEqual([]);
      expect([...final.values()].every((n) => n === 1)).toBe(true);
    }, 90_000);
  });
});
