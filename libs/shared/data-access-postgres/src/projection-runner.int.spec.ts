import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataSource, EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import { PostgresEventStore, RecordedEvent } from '@tally/shared/data-access-event-store';
import { openAppDataSource, schemaOf } from './data-source';
import { FencedError, Projection, ProjectionRunner } from './projection-runner';
import { createShadowTables, swapInShadowTables } from './shadow-tables';
import { dropSchemas, eventually, testDatabaseUrl, uniqueName } from '@tally/shared/testing';

const namespace = uniqueName('proj');
const schema = `${namespace}_app`;

class CreateTallies implements MigrationInterface {
  name = 'CreateTallies1764000000000';
  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(
      `create table "${s}".seen (event_id uuid primary key, kind text not null, amount numeric not null)`,
    );
    await queryRunner.query(
      `create table "${s}".tallies (kind text primary key, total numeric not null, events bigint not null)`,
    );
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop table "${schemaOf(queryRunner)}".seen, "${schemaOf(queryRunner)}".tallies`);
  }
}

/** A projection written the way every Tally projection is: facts ON CONFLICT DO NOTHING, totals only from new facts. */
const tallies = (s: string): Projection => ({
  name: 'tallies',
  eventTypes: ['Tallied'],
  tables: ['seen', 'tallies'],
  apply: async (tx: EntityManager, events: readonly RecordedEvent[]) => {
    await tx.query(
      `with fresh as (
         insert into "${s}".seen (event_id, kind, amount)
         select * from unnest($1::uuid[], $2::text[], $3::numeric[]) on conflict do nothing returning kind, amount)
       insert into "${s}".tallies (kind, total, events)
       select kind, sum(amount), count(*) from fresh group by kind
       on conflict (kind) do update set total = tallies.total + excluded.total, events = tallies.events + excluded.events`,
      [events.map((e) => e.id), events.map((e) => e.data.kind), events.map((e) => e.data.amount)],
    );
  },
});

describe('ProjectionRunner', () => {
  let store: PostgresEventStore;
  let dataSource: DataSource;
  let runner: ProjectionRunner;
  const rows = () => dataSource.query(`select kind, total::text, events::text from "${schema}".tallies order by kind`);
  const tallied = (kind: string, amount: string) => ({ id: randomUUID(), type: 'Tallied', data: { kind, amount } });

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${namespace}_ledger` });
    await store.init();
    dataSource = await openAppDataSource({ connectionString: testDatabaseUrl(), schema, migrations: [CreateTallies] });
    runner = new ProjectionRunner(tallies, dataSource, store, { connectionString: testDatabaseUrl(), schema });
    await store.appendToStream('tally-t1_a', [
      tallied('gb-seconds', '1.5'),
      tallied('gb-seconds', '0.25'),
      tallied('reads', '3'),
    ]);
    await store.appendToStream('other-t1_a', [{ id: randomUUID(), type: 'Ignored', data: {} }]);
    await runner.start();
    await runner.caughtUp();
  });
  afterAll(async () => {
    await runner?.stop();
    await dataSource.destroy();
    await store.close();
    await dropSchemas(namespace);
  });

  it('projects the ledger with exact decimal totals', async () =>
    expect(await rows()).toEqual([
      { kind: 'gb-seconds', total: '1.75', events: '2' },
      { kind: 'reads', total: '3', events: '1' },
    ]));

  it('changes nothing when a batch is applied twice', async () => {
    const before = await rows();
    const batch = await store.readAll({ eventTypes: ['Tallied'], maxCount: 100 });
    await runner.applyBatch(batch);
    await runner.applyBatch(batch);
    expect(await rows()).toEqual(before);
  });

  it('rebuilt from zero gives the same rows', async () => {
    await store.appendToStream('tally-t1_b', [tallied('reads', '0.000001')]);
    await runner.caughtUp();
    const before = await rows();
    await runner.rebuild();
    await runner.caughtUp();
    expect(await rows()).toEqual(before);
    expect(before).toContainEqual({ kind: 'reads', total: '3.000001', events: '2' });
  });

  it('rebuilds beside the live tables: a reader never sees a partial projection, and the swap keeps the tables as migrated', async () => {
    // Enough events, in small batches, that the rebuild takes many transactions.
    for (let chunk = 0; chunk < 6; chunk++)
      await store.appendToStream(
        `tally-t1_many${chunk}`,
        Array.from({ length: 100 }, () => tallied('many', '0.01')),
      );
    const slow = new ProjectionRunner(tallies, dataSource, store, {
      connectionString: testDatabaseUrl(),
      schema,
      batchSize: 7,
    });
    await runner.stop();
    await slow.start();
    await slow.caughtUp();
    const before = await rows();
    const indexesBefore = await dataSource.query(
      `select indexname from pg_indexes where schemaname = $1 order by indexname`,
      [schema],
    );
    const seen = new Set<string>();
    let reading = true;
    const reader = (async () => {
      while (reading) seen.add(JSON.stringify(await rows()));
    })();
    await slow.rebuild();
    reading = false;
    await reader;
    expect([...seen].map((r) => JSON.parse(r))).toEqual([before]);
    expect(
      await dataSource.query(`select indexname from pg_indexes where schemaname = $1 order by indexname`, [schema]),
    ).toEqual(indexesBefore);
    await slow.stop();
    await runner.start();
  });

  it('refuses to swap in a copy made before a migration changed the live table (a rolling upgrade): the new column stays', async () => {
    const [live, copy] = [`${namespace}_swap`, `${namespace}_swap_rebuild`];
    const columns = async () =>
      (
        await dataSource.query(
          `select column_name from information_schema.columns where table_schema = $1 and table_name = 't' order by 1`,
          [live],
        )
      ).map((r: { column_name: string }) => r.column_name);
    await dataSource.query(`create schema "${live}"; create table "${live}".t (id int primary key)`);
    await dataSource.transaction((tx) => createShadowTables(tx, live, copy, ['t']));
    await dataSource.query(`alter table "${live}".t add column revision bigint`); // the newer process's migration
    await expect(dataSource.transaction((tx) => swapInShadowTables(tx, live, copy, ['t']))).rejects.toThrow(
      /^rebuild-schema-changed: .* is \(.*revision bigint.*\) but its rebuilt copy is \((?!.*revision).*\)/,
    );
    expect(await columns()).toEqual(['id', 'revision']);
    // The rebuild started again copies the table as it is now, and swaps in.
    await dataSource.transaction((tx) => createShadowTables(tx, live, copy, ['t']));
    await dataSource.transaction((tx) => swapInShadowTables(tx, live, copy, ['t']));
    expect(await columns()).toEqual(['id', 'revision']);
    // An index a migration adds meanwhile is kept the same way (and a copy like the table swaps in: nothing differs).
    await dataSource.transaction((tx) => createShadowTables(tx, live, copy, ['t']));
    await dataSource.query(`create index t_revision_idx on "${live}".t (revision)`);
    await expect(dataSource.transaction((tx) => swapInShadowTables(tx, live, copy, ['t']))).rejects.toThrow(
      /rebuild-schema-changed: .*index CREATE INDEX t_revision_idx ON USING btree \(revision\)/,
    );
    await dataSource.transaction((tx) => createShadowTables(tx, live, copy, ['t']));
    await dataSource.transaction((tx) => swapInShadowTables(tx, live, copy, ['t']));
    expect(await dataSource.query(`select indexname from pg_indexes where schemaname = $1 order by 1`, [live])).toEqual(
      [{ indexname: 't_pkey' }, { indexname: 't_revision_idx' }],
    );
  });

  it('fences a leader whose term is over: its transaction is refused, and it stands down and campaigns again', async () => {
    await runner.caughtUp();
    const before = await rows();
    const { epoch } = await runner.status();
    // What a takeover does to the row: the epoch moves on (here without the lock changing hands).
    await dataSource.query(`update "${schema}".projection_checkpoints set epoch = epoch + 1 where name = 'tallies'`);
    const batch = await store.readAll({ eventTypes: ['Tallied'], maxCount: 10 });
    await expect(runner.applyBatch(batch)).rejects.toBeInstanceOf(FencedError);
    // The next live batch meets the same fence: the runner resigns, is elected again, and applies it once.
    await store.appendToStream('tally-t1_fenced', [tallied('fenced', '1')]);
    await eventually(rows, (r) => r.some((row: { kind: string }) => row.kind === 'fenced'), 10_000);
    expect(await rows()).toEqual(
      [...before, { kind: 'fenced', total: '1', events: '1' }].sort((a, b) => a.kind.localeCompare(b.kind)),
    );
    expect(
      BigInt(
        (
          await eventually(
            () => runner.status(),
            (s) => s.epoch !== null,
          )
        ).epoch ?? 0,
      ),
    ).toBeGreaterThan(BigInt(epoch ?? 0) + 1n);
  });

  it('keeps a second runner of the same projection as a standby', async () => {
    const standby = new ProjectionRunner(tallies, dataSource, store, { connectionString: testDatabaseUrl(), schema });
    const startingStandby = standby.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await standby.status()).status).toBe('standby');
    await standby.stop();
    await startingStandby;
    expect(await runner.status()).toMatchObject({ status: 'running', behind: 0, lastError: null });
  });

  it('goes live: a new event is projected without a restart', async () => {
    await store.appendToStream('tally-t1_c', [tallied('writes', '2')]);
    await eventually(rows, (r) => r.some((row: { kind: string }) => row.kind === 'writes'), 5_000);
  });

  it('says whether its rows reflect the ledger as it is now: waits for a live runner, refuses a stalled one or a backlog', async () => {
    await runner.caughtUp();
    expect(await runner.reachedLedgerHead()).toBe(true);
    // Live: a new event is applied within the wait.
    await store.appendToStream('tally-t1_d', [tallied('writes', '1')]);
    expect(await runner.reachedLedgerHead(5_000)).toBe(true);
    // Stalled (a standby reading the same checkpoint while nobody runs it): false after the wait.
    const standby = new ProjectionRunner(tallies, dataSource, store, { connectionString: testDatabaseUrl(), schema });
    await runner.stop();
    await store.appendToStream('tally-t1_e', [tallied('writes', '1')]);
    expect(await standby.reachedLedgerHead(200)).toBe(false);
    // A backlog as large as maxPending (a rebuild): false at once.
    await store.appendToStream('tally-t1_f', [tallied('writes', '1'), tallied('writes', '1')]);
    expect(await standby.reachedLedgerHead(60_000, 3)).toBe(false);
    runner = standby;
    await runner.start();
    expect(await runner.reachedLedgerHead(5_000)).toBe(true);
  });
});

describe('ProjectionRunner: a renamed projection', () => {
  const renamed = uniqueName('rename');
  let store: PostgresEventStore;
  let dataSource: DataSource;
  const appliedBy: Record<string, string[]> = { old: [], renamed: [] };
  /** A relay-like projection (no tables): replaying would publish everything again, so a rename must resume. */
  const relay = (name: string, formerNames?: string[]) => (): Projection => ({
    name,
    formerNames,
    eventTypes: ['Relayed'],
    tables: [],
    apply: async (_tx, events) => void appliedBy[formerNames ? 'renamed' : 'old'].push(...events.map((e) => e.id)),
  });
  const run = async (definition: () => Projection) => {
    const runner = new ProjectionRunner(definition, dataSource, store, {
      connectionString: testDatabaseUrl(),
      schema: `${renamed}_app`,
    });
    await runner.start();
    await runner.caughtUp();
    await runner.stop();
  };

  beforeAll(async () => {
    store = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: `${renamed}_ledger` });
    await store.init();
    dataSource = await openAppDataSource({
      connectionString: testDatabaseUrl(),
      schema: `${renamed}_app`,
      migrations: [],
    });
  });
  afterAll(async () => {
    await dataSource.destroy();
    await store.close();
    await dropSchemas(renamed);
  });

  it('resumes from the checkpoint kept under its former name: nothing is applied again', async () => {
    const first = Array.from({ length: 3 }, () => ({ id: randomUUID(), type: 'Relayed', data: {} }));
    await store.appendToStream('relayed-t1_a', first);
    await run(relay('budget_relay'));
    expect(appliedBy.old).toEqual(first.map((e) => e.id));

    const later = { id: randomUUID(), type: 'Relayed', data: {} };
    await store.appendToStream('relayed-t1_a', [later]);
    await run(relay('aggregation_budget_relay', ['budget_relay']));
    expect(appliedBy.renamed).toEqual([later.id]);
    const names = await dataSource.query(`select name from "${renamed}_app".projection_checkpoints order by name`);
    expect(names).toEqual([{ name: 'aggregation_budget_relay' }]);
  });
});
