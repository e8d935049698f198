import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource, EntityManager } from 'typeorm';
import { PostgresEventStore, RecordedEvent } from '@tally/shared/data-access-event-store';
import { eventually, ScratchPostgres, testDatabaseUrl } from '@tally/shared/testing';
import { openAppDataSource } from './data-source';
import { Leadership } from './leadership';
import { Projection, ProjectionRunner } from './projection-runner';

const schema = 'app';

/** Counts events per kind; idempotent by event id. */
const counts = (s: string): Projection => ({
  name: 'counts',
  eventTypes: ['Counted'],
  tables: ['seen'],
  apply: async (tx: EntityManager, events: readonly RecordedEvent[]) => {
    await tx.query(`insert into "${s}".seen select unnest($1::uuid[]) on conflict do nothing`, [
      events.map((e) => e.id),
    ]);
  },
});

/**
 * Two processes' runners of one projection on a Postgres of the test's own, which the test cuts off
 * and restarts: after every loss of the lock connection there is again exactly one writer.
 */
describe('projection leadership across connection loss and Postgres restarts', () => {
  let postgres: ScratchPostgres;
  let store: PostgresEventStore;
  let dataSource: DataSource;
  let runners: ProjectionRunner[];
  const running = () => runners.filter((r) => r.state().status === 'running');
  const append = (n: number) =>
    store.appendToStream(
      `count-t1_${randomUUID()}`,
      Array.from({ length: n }, () => ({ id: randomUUID(), type: 'Counted', data: {} })),
    );
  const seen = async () => Number((await dataSource.query(`select count(*)::int as n from "${schema}".seen`))[0].n);

  beforeAll(async () => {
    postgres = await ScratchPostgres.create();
    store = new PostgresEventStore({ connectionString: postgres.url(), schema: 'ledger' });
    await store.init();
    dataSource = await openAppDataSource({ connectionString: postgres.url(), schema, migrations: [] });
    await dataSource.query(`create table "${schema}".seen (event_id uuid primary key)`);
    runners = [0, 1].map(
      () =>
        new ProjectionRunner(counts, dataSource, store, {
          connectionString: postgres.url(),
          schema,
          onError: () => undefined,
        }),
    );
    await runners[0].start();
    void runners[1].start();
    await append(10);
    await eventually(seen, (n) => n === 10);
  }, 60_000);
  afterAll(async () => {
    await Promise.all((runners ?? []).map((r) => r.stop()));
    await dataSource?.destroy().catch(() => undefined);
    await store?.close().catch(() => undefined);
    await postgres?.destroy();
  });

  it('hands over within about a second when the leader loses its lock connection, and the old leader stands by', async () => {
    expect(running()).toEqual([runners[0]]);
    const cut = Date.now();
    await postgres.query(
      `select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' and granted and pid <> pg_backend_pid()`,
    );
    await eventually(
      async () => running(),
      (r) => r.length === 1 && r[0] === runners[1],
      10_000,
    );
    console.log(`[leadership] takeover after the lock connection was cut: ${Date.now() - cut} ms`);
    await append(5);
    await eventually(seen, (n) => n === 15);
    expect(runners[0].state().status).toBe('standby');
  }, 30_000);

  it('after a Postgres restart there is again exactly one writer, and nothing is applied twice or lost', async () => {
    await postgres.restart();
    await append(7);
    await eventually(seen, (n) => n === 22, 30_000);
    // Both campaigned again after the restart; one won, the other waits.
    await eventually(
      async () => runners.map((r) => r.state().status).sort(),
      (s) => s.join() === 'running,standby',
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // and it stays that way
    expect(running()).toHaveLength(1);
    const { epoch } = await running()[0].status();
    expect(Number(epoch)).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('after Postgres was killed (no writer meanwhile) and came back, the writer resumes by itself', async () => {
    await postgres.kill();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(
      await eventually(
        async () => running().length,
        (n) => n === 0,
        10_000,
      ),
    ).toBe(0);
    await postgres.start();
    await append(3);
    await eventually(seen, (n) => n === 25, 30_000);
    expect(running()).toHaveLength(1);
  }, 60_000);
});

describe('Leadership: stopping', () => {
  it('stops at once when stopped while its lock connection is still opening (it never leads)', async () => {
    const leadership = new Leadership({ connectionString: testDatabaseUrl(), key: `stop-${randomUUID()}` });
    let led = false;
    leadership.start(async () => void (led = true));
    // No await in between: the campaign is opening its connection when stop() aborts it.
    const stopped = leadership.stop().then(() => 'stopped');
    const outcome = await Promise.race([stopped, new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000))]);
    expect(outcome).toBe('stopped');
    expect(led).toBe(false);
  });
});
