import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPool } from '@tally/shared/data-access-pg-client';
import { PostgresEventStore, RecordedEvent, StreamAppend } from '@tally/shared/data-access-event-store';
import { dropSchemas, testDatabaseUrl, uniqueName } from '@tally/shared/testing';
import { ArchiveManifest } from './archive-manifest';
import { ArchiveReader } from './archive-reader';
import { sealRange } from './archive-sealer';
import { pruneSealed } from './ledger-pruner';
import { TieredEventStore } from './tiered-event-store';
import { ArchiveTarget, filesystemTarget } from './testing/archive-targets';

const namespace = uniqueName('tiered');
let target: ArchiveTarget;
beforeAll(async () => {
  target = await filesystemTarget();
});
afterAll(async () => {
  await target.dispose();
  await dropSchemas(namespace);
});

const event = (type: string, data: Record<string, unknown>) => ({ id: randomUUID(), type, data, metadata: { n: 1 } });

/** Usage of two tenants interleaved with account and invoice events: a seal writes several files per run. */
const history = (round: number): StreamAppend[] => [
  { stream: `usage-t1_a1.2026-11`, events: [event('UsageRecorded', { q: `${round}.000000000000000000001` })] },
  { stream: `account-t1_a${round}`, events: [event('AccountOpened', { round })] },
  { stream: `usage-t2_a1.2026-11`, events: [event('UsageRecorded', { q: '12345678901234567890123' })] },
  { stream: `usage-t1_a2.2026-11`, events: [event('UsageVoided', { round })] },
  { stream: `invoice-t1_i${round}`, events: [event('InvoiceDrafted', { total: '1.10' })] },
];

const setUp = async () => {
  const { store, alterOneByte } = target.isolated();
  const ledgerSchema = `${namespace}_${uniqueName('l')}`;
  const hot = new PostgresEventStore({ connectionString: testDatabaseUrl(), schema: ledgerSchema });
  await hot.init();
  const pool = openPool({ connectionString: testDatabaseUrl(), max: 3 });
  const manifest = new ArchiveManifest(pool, ledgerSchema);
  await manifest.init();
  const reader = new ArchiveReader(manifest, store, { manifestTtlMs: 0, cachedRows: 5 });
  const tiered = new TieredEventStore(hot, reader);
  const dbNow = async () => (await pool.query<{ now: Date }>('select clock_timestamp() as now')).rows[0].now;
  const seal = async (batchSize = 7) =>
    sealRange({ pool, ledgerSchema, manifest, store, cutoff: await dbNow(), batchSize });
  const prune = () => pruneSealed({ pool, ledgerSchema, manifest, store, minSealedAgeMs: 0 });
  const hotCount = async () =>
    Number((await pool.query(`select count(*) from "${ledgerSchema}".events`)).rows[0].count as string);
  const close = async () => {
    await hot.close();
    await pool.end();
  };
  return { hot, tiered, pool, ledgerSchema, manifest, store, alterOneByte, seal, prune, hotCount, close };
};

/** Every event after a position through readAll, in pages of `page`. */
const readEverything = async (
  store: { readAll: PostgresEventStore['readAll'] },
  page: number,
  eventTypes?: string[],
): Promise<RecordedEvent[]> => {
  const all: RecordedEvent[] = [];
  for (;;) {
    const batch = await store.readAll({ after: all.at(-1)?.globalPosition, maxCount: page, eventTypes });
    if (batch.length === 0) return all;
    all.push(...batch);
  }
};

describe('the ledger across archive and hot tail', () => {
  it('reads sealed positions from the archive exactly as the hot ledger gives them, in any page size and type filter', async () => {
    const { hot, tiered, seal, close } = await setUp();
    for (let round = 0; round < 6; round++) await hot.appendToStreams(history(round));
    const full = await readEverything(hot, 1_000);
    const usageOnly = await readEverything(hot, 1_000, ['UsageRecorded', 'UsageVoided']);

    const report = await seal(); // runs of 7 rows: files of three tenants/categories interleave
    expect(report.rows).toBe(30);
    await hot.appendToStreams(history(6)); // the hot tail, not sealed

    const fullAfter = await readEverything(hot, 1_000);
    for (const page of [1, 3, 7, 1_000]) expect(await readEverything(tiered, page)).toEqual(fullAfter);
    expect((await readEverything(tiered, 4, ['UsageRecorded', 'UsageVoided'])).slice(0, usageOnly.length)).toEqual(
      usageOnly,
    );
    expect(fullAfter.slice(0, full.length)).toEqual(full);
    // Data fields left out as the hot ledger leaves them out, from the archive's files and the hot tail alike.
    const omitData = ['q', 'round'];
    const lean = await tiered.readAll({ maxCount: 1_000, omitData });
    expect(lean).toEqual(await hot.readAll({ maxCount: 1_000, omitData }));
    expect(lean.filter((e) => 'q' in e.data || 'round' in e.data)).toEqual([]);
    expect(fullAfter.filter((e) => 'q' in e.data).length).toBeGreaterThan(0);
    expect(await tiered.countAfter({ after: 10n, limit: 1_000 })).toBe(25);
    expect(await tiered.countAfter({ after: 2n, eventTypes: ['InvoiceDrafted'], limit: 1_000 })).toBe(7);
    await close();
  });

  it('prunes sealed usage rows only after checking them against their file, and reads stay whole', async () => {
    const { hot, tiered, pool, ledgerSchema, manifest, seal, prune, hotCount, close } = await setUp();
    for (let round = 0; round < 4; round++) await hot.appendToStreams(history(round));
    const before = await readEverything(hot, 1_000);
    await seal();

    const report = await prune();

    // 12 usage rows (UsageRecorded of t1 and t2, UsageVoided) left the hot ledger; accounts and invoices stay.
    expect(report.rows).toBe(12);
    expect(await hotCount()).toBe(8);
    expect((await manifest.list()).filter((e) => e.category === 'usage').every((e) => e.prunedAt !== null)).toBe(true);
    expect((await manifest.list()).filter((e) => e.category !== 'usage').every((e) => e.prunedAt === null)).toBe(true);
    expect(await readEverything(tiered, 5)).toEqual(before);
    expect(await prune()).toEqual({ files: 0, rows: 0 }); // nothing left to prune
    const files = await manifest.list();
    expect(await manifest.summary()).toEqual({
      sealedThrough: before[before.length - 1].globalPosition,
      files: files.length,
      rows: 20,
      prunedFiles: files.filter((e) => e.category === 'usage').length,
      prunedRows: 12,
    });

    // An event id that was pruned is still stored once: appending it again writes nothing.
    const pruned = before.find((e) => e.streamName === 'usage-t2_a1.2026-11');
    if (!pruned) throw new Error('the history has no usage-t2_a1.2026-11 event');
    const again = await hot.appendToStream(pruned.streamName, [
      { id: pruned.id, type: pruned.type, data: pruned.data, metadata: pruned.metadata },
    ]);
    expect(again.written).toBe(0);
    // A pruned stream's last revision is still told (every one of its rows gone from the hot ledger).
    expect((await tiered.streamRevisions(['usage-t2_a1.2026-11'])).get('usage-t2_a1.2026-11')).toBe(3n);
    // The pruned stream goes on from its last revision (rounds 0–3: revisions 0–3), not from 0.
    const next = await hot.appendToStream('usage-t2_a1.2026-11', [event('UsageRecorded', { q: '1' })], {
      expectedRevision: 3n,
    });
    expect(next.nextExpectedRevision).toBe(4n);
    // Outside a prune, the ledger still refuses to lose a row.
    await expect(pool.query(`delete from "${ledgerSchema}".events`)).rejects.toThrow(
      'the ledger is append-only (DELETE refused)',
    );
    await close();
  });

  it('stops between files once its signal aborts (archive-interrupted): the file it was pruning is whole, the rest stay hot', async () => {
    const { hot, pool, ledgerSchema, manifest, store, seal, hotCount, close } = await setUp();
    for (let round = 0; round < 2; round++) await hot.appendToStreams(history(round));
    await seal(1_000);
    const usageFiles = (await manifest.list()).filter((e) => e.category === 'usage');
    expect(usageFiles.length).toBeGreaterThan(1);
    // the lock is lost while the first file is fetched: that file is pruned whole, no other is begun
    const lockLost = new AbortController();
    const losingStore = {
      ...store,
      get: async (key: string) => {
        const bytes = await store.get(key);
        lockLost.abort('the archive lock connection was lost');
        return bytes;
      },
    };
    await expect(
      pruneSealed({ pool, ledgerSchema, manifest, store: losingStore, minSealedAgeMs: 0, signal: lockLost.signal }),
    ).rejects.toThrow(
      /^archive-interrupted: stopped \(the archive lock connection was lost\) after pruning 1 files \(\d+ rows\)$/,
    );
    const prunedFiles = (await manifest.list()).filter((e) => e.prunedAt !== null);
    expect(prunedFiles).toHaveLength(1);
    expect(await hotCount()).toBe(10 - prunedFiles[0].rowCount);
    await close();
  });

  it('prunes nothing from a file that fails verification', async () => {
    const { hot, manifest, alterOneByte, seal, prune, hotCount, close } = await setUp();
    for (let round = 0; round < 2; round++) await hot.appendToStreams(history(round));
    await seal(1_000);
    const [t1Usage] = (await manifest.list()).filter((e) => e.category === 'usage');

    alterOneByte(t1Usage.objectKey);

    await expect(prune()).rejects.toThrow(`archive-file-altered: ${t1Usage.objectKey}`);
    expect(await hotCount()).toBe(10);
    expect((await manifest.list()).every((e) => e.prunedAt === null)).toBe(true);
    await close();
  });

  it('prunes nothing from a file whose rows the hot ledger no longer matches (archive-prune-mismatch)', async () => {
    const { hot, pool, ledgerSchema, manifest, seal, prune, hotCount, close } = await setUp();
    for (let round = 0; round < 2; round++) await hot.appendToStreams(history(round));
    await seal(1_000);
    const [t1Usage, t2Usage] = (await manifest.list()).filter((e) => e.category === 'usage');
    // One row of t2's file deleted from the hot ledger behind the archive's back (an operator's mistake).
    await pool.query(
      `begin; set local tally.ledger_prune = 'on';
       delete from "${ledgerSchema}".events where global_position = ${t2Usage.fromPosition}; commit`,
    );

    await expect(prune()).rejects.toThrow(
      `archive-prune-mismatch: ${t2Usage.objectKey}: the hot ledger holds 1 of its 2 rows, and position ${t2Usage.fromPosition} differs from the file; nothing was pruned`,
    );

    // t1's file (earlier in position order) was pruned in its own transaction; t2's remaining row is still hot.
    expect(await hotCount()).toBe(9 - t1Usage.rowCount);
    const pruned = new Map((await manifest.list()).map((e) => [e.objectKey, e.prunedAt]));
    expect(pruned.get(t1Usage.objectKey)).not.toBeNull();
    expect(pruned.get(t2Usage.objectKey)).toBeNull();
    await close();
  });

  it('refuses a hot-ledger read from below what was pruned (ledger-pruned), and the tiered store then lists the manifest again', async () => {
    const { hot, pool, ledgerSchema, manifest, store, seal, prune, close } = await setUp();
    // A reader that trusts its last look at the manifest for an hour, and looked before anything was sealed.
    const tiered = new TieredEventStore(hot, new ArchiveReader(manifest, store, { manifestTtlMs: 3_600_000 }));
    for (let round = 0; round < 3; round++) await hot.appendToStreams(history(round));
    const before = await readEverything(hot, 1_000);
    expect(await readEverything(tiered, 4)).toEqual(before);
    await seal();
    await prune();
    const prunedThrough = (await pool.query(`select through from "${ledgerSchema}".pruned_through`)).rows[0]
      .through as string;

    // The ledger alone cannot serve a read that starts below the pruned rows (a process without the archive).
    await expect(hot.readAll({ after: 0n })).rejects.toThrow(
      `ledger-pruned: positions up to ${prunedThrough} were pruned from the hot ledger into the archive; a read after 0 must go through the archive (TALLY_ARCHIVE)`,
    );
    await expect(hot.countAfter({ after: 3n, limit: 100 })).rejects.toThrow('ledger-pruned');
    await expect(hot.readAll({ after: BigInt(prunedThrough) })).resolves.toEqual(
      before.filter((e) => e.globalPosition > BigInt(prunedThrough)),
    );
    // The stale reader is told in the same statement as its hot read, looks at the manifest again, and misses nothing.
    expect(await readEverything(tiered, 4)).toEqual(before);
    expect(await tiered.countAfter({ after: 0n, limit: 1_000 })).toBe(before.length);
    await close();
  });

  it('subscribes from the start through the archive, then follows new appends on the hot ledger', async () => {
    const { hot, tiered, seal, prune, close } = await setUp();
    for (let round = 0; round < 3; round++) await hot.appendToStreams(history(round));
    const before = await readEverything(hot, 1_000);
    await seal();
    await prune();
    const seen: RecordedEvent[] = [];
    const subscription = tiered.subscribeToAll({
      maxCount: 4,
      eventTypes: ['UsageRecorded', 'InvoiceDrafted'],
      handle: async (batch) => {
        seen.push(...batch);
      },
    });
    await hot.appendToStreams(history(3));
    const expected = [...before, ...(await hot.readAll({ after: before[before.length - 1].globalPosition }))].filter(
      (e) => ['UsageRecorded', 'InvoiceDrafted'].includes(e.type),
    );
    await expect.poll(() => seen.length, { timeout: 10_000 }).toBe(expected.length);
    await subscription.stop();
    expect(seen).toEqual(expected);
    await close();
  });
});
