import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { connect, headers } from '@nats-io/transport-node';
import { usageRecordedType } from '@tally/contracts/usage';
import { RunningTally } from '@tally/shared/feature-runtime';
import { dropSchemas, eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { createProducerKey, deleteStreams, http, ledgerEvents, startApp, usageEvent } from './support';

type Answer = { accepted: number; duplicate: number; rejected: number; results: { id: string; status: string }[] };

/**
 * An event re-sent in a later request answers `duplicate` once Tally knows the first copy (its status shows it
 * accepted), over HTTP and over NATS request/reply alike, and is counted once. When the lookup cannot be made in
 * time — the status table locked or gone — the event is answered `accepted` and stored all the same: the ledger's
 * exact dedup still counts it once.
 */
describe('intake answers duplicate for an event accepted in an earlier request', () => {
  const namespace = uniqueName('intakedup');
  const statusTable = `"${namespace}_ingestion".event_status`;
  let ingestion: RunningTally;
  let attribution: RunningTally;
  let key: string;
  const event = (id: string) => usageEvent(id, 'inst-1');

  const post = async (events: unknown[]): Promise<Answer> => {
    const answer = await http('POST', `${ingestion.url}/v1/events`, events, 'application/json', key);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body;
  };
  const statuses = (answer: Answer) => answer.results.map((r) => [r.id, r.status]);
  /** The first copy is known: the status consumer has recorded it as accepted. */
  const known = (id: string) =>
    eventually(
      () => http('GET', `${ingestion.url}/v1/events/status?source=${encodeURIComponent('//fn-runtime/eu-1')}&id=${id}`),
      (r) => r.status === 200 && r.body.timestamps.acceptedAt !== null,
      10_000,
    );
  const recorded = async (id: string) =>
    (await ledgerEvents(attribution.runtime.eventStore, [usageRecordedType])).filter((e) => e.data.eventId === id)
      .length;
  /** `marker` travelled in the same request as the re-sent copies: once it is in the ledger, so are they. */
  const countedOnce = async (id: string, marker: string) => {
    await eventually(
      () => recorded(marker),
      (n) => n === 1,
      10_000,
    );
    expect(await recorded(id)).toBe(1);
  };
  /** A session of its own on the test database, for what an operator or a rebuild would do to the status table. */
  const withSession = async <T>(work: (client: Client) => Promise<T>): Promise<T> => {
    const client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    ingestion = await startApp('ingestion', namespace);
    attribution = await startApp('attribution', namespace);
    key = await createProducerKey(ingestion.url);
  });
  afterAll(async () => {
    await ingestion?.close();
    await attribution?.close();
    await deleteStreams(namespace);
    await dropSchemas(namespace);
  });

  it('answers duplicate for the re-sent event and accepted for its new neighbour, and counts it once', async () => {
    expect(statuses(await post([event('dup-1'), event('new-1')]))).toEqual([
      ['dup-1', 'accepted'],
      ['new-1', 'accepted'],
    ]);
    await known('dup-1');
    // Another request (so another JetStream message id): only Tally's record of dup-1 can tell.
    const again = await post([event('new-2'), event('dup-1')]);
    expect(statuses(again)).toEqual([
      ['new-2', 'accepted'],
      ['dup-1', 'duplicate'],
    ]);
    expect(again).toMatchObject({ accepted: 1, duplicate: 1, rejected: 0 });
    await countedOnce('dup-1', 'new-2');
  });

  it('answers the same over NATS request/reply', async () => {
    await post([event('dup-nats')]);
    await known('dup-nats');
    const nc = await connect({ servers: testNatsUrl() });
    const h = headers();
    h.set('Authorization', `Bearer ${key}`);
    const reply = await nc.request(
      `${namespace}.ingestion.cmd.ingest.v1`,
      new TextEncoder().encode(JSON.stringify([event('dup-nats'), event('new-nats')])),
      { timeout: 5_000, headers: h },
    );
    await nc.close();
    const answer = JSON.parse(new TextDecoder().decode(reply.data)) as Answer;
    expect(statuses(answer)).toEqual([
      ['dup-nats', 'duplicate'],
      ['new-nats', 'accepted'],
    ]);
    await countedOnce('dup-nats', 'new-nats');
  });

  it('answers accepted, without waiting for the lock, when the status table is locked, and stores the event all the same', async () => {
    await post([event('dup-locked')]);
    await known('dup-locked');
    const answer = await withSession(async (client) => {
      await client.query('begin');
      await client.query(`lock table ${statusTable} in access exclusive mode`);
      const started = performance.now();
      const answered = await post([event('dup-locked'), event('new-locked')]);
      const tookMs = performance.now() - started;
      await client.query('rollback');
      return { answered, tookMs };
    });
    expect(statuses(answer.answered)).toEqual([
      ['dup-locked', 'accepted'],
      ['new-locked', 'accepted'],
    ]);
    expect(answer.tookMs).toBeLessThan(2_000);
    await countedOnce('dup-locked', 'new-locked');
  });

  it('answers accepted when the lookup fails (the status table gone), and stores the event all the same', async () => {
    await post([event('dup-failing')]);
    await known('dup-failing');
    const answered = await withSession(async (client) => {
      await client.query(`alter table ${statusTable} rename to event_status_away`);
      try {
        return await post([event('dup-failing'), event('new-failing')]);
      } finally {
        await client.query(`alter table "${namespace}_ingestion".event_status_away rename to event_status`);
      }
    });
    expect(statuses(answered)).toEqual([
      ['dup-failing', 'accepted'],
      ['new-failing', 'accepted'],
    ]);
    await countedOnce('dup-failing', 'new-failing');
    // The lookup works again once the table is back.
    expect(statuses(await post([event('dup-failing'), event('new-failing-2')]))).toEqual([
      ['dup-failing', 'duplicate'],
      ['new-failing-2', 'accepted'],
    ]);
  });
});
