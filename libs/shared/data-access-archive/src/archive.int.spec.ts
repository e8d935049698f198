import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool } from '@tally/shared/data-access-pg-client';
import { PostgresEventStore } from '@tally/shared/data-access-event-store';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { ArchiveManifest } from './archive-manifest';
import { sealRange } from './archive-sealer';
import { segmentKey, segmentsOf } from './archive-partition';
import { readLedgerRows } from './ledger-rows';
import { readSegment } from './segment-reader';
import { encodeSegment } from './segment.parquet';
import { ArchiveTarget, filesystemTarget, s3Target } from './testing/archive-targets';

const namespace = uniqueName('archive');
afterAll(() => dropSchemas(namespace));

const usage = (tenant: string, account: string, quantity: string) => ({
  stream: `usage-${tenant}_${account}.2026-11`,
  events: [
    {
      id: randomUUID(),
      type: 'UsageRecorded',
      data: { tenant, accountId: account, quantity, subject: 'Zürich ☃ 東京 🚀' },
      metadata: { note: 'exact' },
    },
  ],
});

/** A fresh ledger and manifest (own schemas) over one object store. */
const setUp = async (target: ArchiveTarget) => {
  const { store, remove, alterOneByte } = target.isolated();
  const ledgerSchema = `${namespace}_${uniqueName('l')}`;
  const ledger = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
  await ledger.init();
  const pool = openPool({ connectionString: testDatabaseUrl(), max: 3 });
  const manifest = new ArchiveManifest(pool, `${namespace}_${uniqueName('m')}`);
  await manifest.init();
  const dbNow = async () => (await pool.query<{ now: Date }>('select clock_timestamp() as now')).rows[0].now;
  const seal = (cutoff: Date, batchSize?: number) =>
    sealRange({ pool, ledgerSchema, manifest, store, cutoff, batchSize });
  const close = async () => {
    await ledger.close();
    await pool.end();
  };
  return { ledger, ledgerSchema, pool, manifest, store, remove, alterOneByte, dbNow, seal, close };
};

describe.each([
  { adapter: 'filesystem', open: filesystemTarget },
  { adapter: 'S3 (s3rver)', open: s3Target },
])('sealing the ledger into $adapter', ({ open }) => {
  let target: ArchiveTarget;
  beforeAll(async () => {
    target = await open();
  });
  afterAll(() => target.dispose());

  it('seals rows older than the cutoff, one file per tenant, category and month, and reads them back exactly', async () => {
    const { ledger, ledgerSchema, pool, manifest, store, dbNow, seal, close } = await setUp(target);
    await ledger.appendToStreams([
      usage('t1', 'a1', '12345678901234567890.123456789'),
      usage('t2', 'a1', '0.000000001'),
      { stream: 'invoice-t1_inv1', events: [{ id: randomUUID(), type: 'InvoiceDrafted', data: { total: '1.25' } }] },
      usage('t1', 'a2', '7'),
    ]);
    const cutoff = await dbNow();
    await ledger.appendToStreams([usage('t1', 'a3', '99')]); // recorded after the cutoff: stays hot

    const report = await seal(cutoff);

    expect(report.rows).toBe(4);
    const entries = await manifest.list();
    expect(entries.map((e) => [e.tenant, e.category, e.rowCount, e.fromPosition, e.toPosition])).toEqual([
      ['t1', 'usage', 2, 1n, 4n],
      ['t2', 'usage', 1, 2n, 2n],
      ['t1', 'invoice', 1, 3n, 3n],
    ]);
    expect(entries[0].objectKey).toMatch(/^archive\/t1\/usage\/\d{4}-\d{2}\/0+1-0+4\.parquet$/);
    const ledgerRows = await readLedgerRows(pool, ledgerSchema, 0n, 100);
    const archived = (await Promise.all(entries.map((e) => readSegment(store, e)))).flat();
    expect(archived.sort((a, b) => Number(a.globalPosition - b.globalPosition))).toEqual(ledgerRows.slice(0, 4));
    expect(JSON.parse(archived[0].data).quantity).toBe('12345678901234567890.123456789');
    expect(JSON.parse(archived[0].data).subject).toBe('Zürich ☃ 東京 🚀');
    await close();
  });

  it('keeps a JSON number of any length as its digits and recorded_at to the microsecond, in its UTC month', async () => {
    const { ledgerSchema, pool, manifest, store, dbNow, seal, close } = await setUp(target);
    // Only SQL can store such a number (a JS value cannot hold it); the ledger keeps it exactly in jsonb.
    await pool.query(
      `insert into "${ledgerSchema}".events (stream_name, stream_revision, event_id, event_type, data, recorded_at)
       values ('usage-t1_a1.2026-11', 0, $1, 'UsageRecorded', '{"amount": 12345678901234567890.123456789}',
               '2026-11-30 23:59:59.999999+00')`,
      [randomUUID()],
    );
    await seal(await dbNow());
    const [entry] = await manifest.list();
    expect(entry.month).toBe('2026-11');
    const [row] = await readSegment(store, entry);
    expect(row.data).toBe('{"amount": 12345678901234567890.123456789}');
    expect(row.recordedAtMicros).toBe(BigInt(Date.UTC(2026, 10, 30, 23, 59, 59, 999)) * 1000n + 999n);
    await close();
  });

  it('seals nothing new when sealed again, and the rest once the cutoff passes them', async () => {
    const { ledger, manifest, dbNow, seal, close } = await setUp(target);
    await ledger.appendToStreams([usage('t1', 'a1', '1'), usage('t1', 'a2', '2')]);
    const cutoff = await dbNow();
    await ledger.appendToStreams([usage('t1', 'a3', '3')]);
    expect((await seal(cutoff)).rows).toBe(2);
    expect(await seal(cutoff)).toEqual({ sealed: [], rows: 0, bytes: 0, reused: 0 });
    expect(await manifest.list()).toHaveLength(1);
    const later = await seal(await dbNow());
    expect(later.sealed.map((e) => [e.fromPosition, e.toPosition])).toEqual([[3n, 3n]]);
    await close();
  });

  it('seals a long ledger in runs of the batch size, each position in exactly one file, in number order', async () => {
    const { ledger, manifest, dbNow, seal, close } = await setUp(target);
    for (let i = 0; i < 12; i++) await ledger.appendToStreams([usage(`t${i % 2}`, `a${i}`, String(i))]);
    const report = await seal(await dbNow(), 5);
    expect(report.rows).toBe(12);
    const ranges = (await manifest.list()).map((e) => [e.tenant, e.fromPosition, e.toPosition, e.rowCount]);
    // runs [1..5] [6..10] [11..12]; tenants alternate, so each run has a t0 file and a t1 file (positions past 9
    // are where ordering by text rather than by number would show)
    expect(ranges).toEqual([
      ['t0', 1n, 5n, 3],
      ['t1', 2n, 4n, 2],
      ['t1', 6n, 10n, 3],
      ['t0', 7n, 9n, 2],
      ['t0', 11n, 11n, 1],
      ['t1', 12n, 12n, 1],
    ]);
    await close();
  });

  it('stops between runs once its signal aborts (archive-interrupted); the runs recorded before stay, the rest seal next time', async () => {
    const { ledger, ledgerSchema, pool, manifest, store, dbNow, close } = await setUp(target);
    for (let i = 0; i < 12; i++) await ledger.appendToStreams([usage('t1', `a${i}`, String(i))]);
    const cutoff = await dbNow();
    // the lock is lost while the first run writes its file: that run completes, no second one starts
    const lockLost = new AbortController();
    const losingStore = {
      ...store,
      put: async (key: string, bytes: Uint8Array) => {
        await store.put(key, bytes);
        lockLost.abort('the archive lock connection was lost');
      },
    };
    await expect(
      sealRange({ pool, ledgerSchema, manifest, store: losingStore, cutoff, batchSize: 5, signal: lockLost.signal }),
    ).rejects.toThrow(/^archive-interrupted: stopped \(the archive lock connection was lost\) after sealing 5 rows$/);
    expect((await manifest.list()).map((e) => [e.fromPosition, e.toPosition])).toEqual([[1n, 5n]]);

    const rest = await sealRange({ pool, ledgerSchema, manifest, store, cutoff, batchSize: 5 });
    expect(rest.rows).toBe(7);
    expect(await manifest.sealedThrough()).toBe(12n);
    await close();
  });

  it('finds a file an interrupted seal left behind (same bytes) and records it', async () => {
    const { ledger, ledgerSchema, pool, manifest, store, dbNow, seal, close } = await setUp(target);
    await ledger.appendToStreams([usage('t1', 'a1', '1'), usage('t1', 'a2', '2')]);
    const cutoff = await dbNow();
    // what a seal that stopped between its file and its manifest row leaves: the file, and no row
    const [segment] = segmentsOf(await readLedgerRows(pool, ledgerSchema, 0n, 10));
    await store.put(segmentKey(segment), encodeSegment(segment.rows));

    const report = await seal(cutoff);

    expect(report.reused).toBe(1);
    expect(await manifest.list()).toHaveLength(1);
    expect(await readSegment(store, (await manifest.list())[0])).toEqual(segment.rows);
    await close();
  });

  it('stops with archive-key-conflict when other bytes hold its key, and records nothing', async () => {
    const { ledger, ledgerSchema, pool, manifest, store, dbNow, seal, close } = await setUp(target);
    await ledger.appendToStreams([usage('t1', 'a1', '1')]);
    const [segment] = segmentsOf(await readLedgerRows(pool, ledgerSchema, 0n, 10));
    await store.put(segmentKey(segment), new TextEncoder().encode('not this range'));
    await expect(seal(await dbNow())).rejects.toThrow(
      /^archive-key-conflict: archive\/t1\/usage\/.* is left as it is$/,
    );
    expect(await manifest.list()).toEqual([]);
    await close();
  });

  it('refuses to record a run when another seal recorded one since it began (archive-concurrent-seal)', async () => {
    const { ledger, ledgerSchema, pool, manifest, dbNow, seal, close } = await setUp(target);
    await ledger.appendToStreams([usage('t1', 'a1', '1')]);
    const cutoff = await dbNow();
    const [segment] = segmentsOf(await readLedgerRows(pool, ledgerSchema, 0n, 10));
    const entry = {
      tenant: 't1',
      category: 'usage',
      month: segment.month,
      fromPosition: 1n,
      toPosition: 1n,
      rowCount: 1,
      sha256: 'a'.repeat(64),
      objectKey: 'archive/t1/usage/other.parquet',
      eventTypes: ['UsageRecorded'],
    };
    await seal(cutoff); // the other seal: records positions up to 1
    await expect(manifest.record(0n, [entry])).rejects.toThrow(
      'archive-concurrent-seal: positions up to 1 were sealed while this seal wrote files after 0',
    );
    expect(await manifest.list()).toHaveLength(1);
    await close();
  });

  it('names a missing file (archive-file-missing) and an altered one (archive-file-altered)', async () => {
    const { ledger, manifest, store, remove, alterOneByte, dbNow, seal, close } = await setUp(target);
    await ledger.appendToStreams([usage('t1', 'a1', '1'), usage('t2', 'a1', '2')]);
    await seal(await dbNow());
    const [first, second] = await manifest.list();

    remove(first.objectKey);
    await expect(readSegment(store, first)).rejects.toThrow(
      `archive-file-missing: ${first.objectKey} (tenant t1, usage, ${first.month}, positions 1–1) is not in the archive store`,
    );
    alterOneByte(second.objectKey);
    await expect(readSegment(store, second)).rejects.toThrow(
      new RegExp(`^archive-file-altered: ${second.objectKey} .* has sha256 [0-9a-f]{64}, sealed as ${second.sha256}$`),
    );
    await close();
  });
});
