import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TallyNatsProducer, TallyRefusedError } from '@tally/client';
import { deleteNatsStreams, dropSchemas, testNatsUrl, uniqueName } from '@tally/shared/testing';
import { RunningTally } from '@tally/shared/feature-runtime';
import { createProducerKey, ledgerEvents, startApp } from './support';

/**
 * @tally/client's NATS producer against a real ingestion app on JetStream: a send made while no ingestion
 * instance listens is retried until one does; ids given before the first attempt make a re-send a duplicate;
 * a refusal is thrown at once.
 */
describe('@tally/client: TallyNatsProducer', () => {
  const namespace = uniqueName('client');
  let ingestion: RunningTally | undefined;
  let attribution: RunningTally;
  let key: string;
  const producers: TallyNatsProducer[] = [];
  const producer = async (apiKey: string) => {
    const made = await TallyNatsProducer.connect({
      servers: testNatsUrl(),
      namespace,
      apiKey,
      backoff: { initialMs: 100, maxMs: 500 },
      attempts: 40,
    });
    producers.push(made);
    return made;
  };

  beforeAll(async () => {
    attribution = await startApp('attribution', namespace);
    ingestion = await startApp('ingestion', namespace);
    key = await createProducerKey(ingestion.url);
  });

  afterAll(async () => {
    for (const made of producers) await made.close();
    await ingestion?.close();
    await attribution.close();
    await deleteNatsStreams(namespace);
    await dropSchemas(namespace);
  });

  it('retries while no ingestion instance answers, and is answered once one starts', async () => {
    await ingestion?.close();
    ingestion = undefined;
    const client = await producer(key);
    const sending = client.send([
      { source: '//client-test', type: 'fn.invocation', subject: 'inst-1', data: { gbSeconds: '0.5' } },
    ]);
    let settled = false;
    void sending.finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(settled).toBe(false); // still retrying: nobody serves the subject
    ingestion = await startApp('ingestion', namespace);
    const answer = await sending;
    expect(answer).toMatchObject({ accepted: 1, duplicate: 0, rejected: 0 });
    expect(answer.results[0].id).toMatch(/^[0-9a-f-]{36}$/); // given by the producer
  });

  it('gives ids before the first attempt: the same events sent again are duplicates, counted once', async () => {
    const client = await producer(key);
    const events = TallyNatsProducer.withIds([
      { source: '//client-test', type: 'fn.invocation', subject: 'inst-2', data: { gbSeconds: '1' } },
      { source: '//client-test', type: 'fn.invocation', subject: 'inst-2', data: { gbSeconds: '2' } },
    ]);
    expect(await client.send(events)).toMatchObject({ accepted: 2 });
    expect(await client.send(events)).toMatchObject({ accepted: 0, duplicate: 2 });
    const ids = events.map((e) => e.id);
    await expect
      .poll(
        async () =>
          (await ledgerEvents(attribution.runtime.eventStore, ['UsageRecorded'])).filter((e) =>
            ids.includes(e.data.eventId as string),
          ).length,
        { timeout: 10_000 },
      )
      .toBe(2);
  });

  it('throws a refusal at once, with the problem', async () => {
    const client = await producer('tally_not-a-key');
    const refused = await client.send([{ source: '//x', type: 't', subject: 's', data: {} }]).catch((e) => e);
    expect(refused).toBeInstanceOf(TallyRefusedError);
    expect(refused.problem).toMatchObject({ status: 401, type: 'https://tally.dev/problems/unauthorized' });
  });
});
