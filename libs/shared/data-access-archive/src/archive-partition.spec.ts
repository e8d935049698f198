import { describe, expect, it } from 'vitest';
import type { ArchiveRow } from './archive-row';
import {
  partitionOfStream,
  sealableRun,
  segmentKey,
  segmentsOf,
  sha256Hex,
  utcMonthOfMicros,
} from './archive-partition';

// 2026-11-30T23:59:59.999999Z and one microsecond later
const lastMicroOfNovember = BigInt(Date.UTC(2026, 10, 30, 23, 59, 59, 999)) * 1000n + 999n;
const firstMicroOfDecember = lastMicroOfNovember + 1n;

const row = (position: bigint, streamName: string, recordedAtMicros = lastMicroOfNovember): ArchiveRow => ({
  globalPosition: position,
  streamName,
  streamRevision: 0n,
  eventId: `e${position}`,
  eventType: 'UsageRecorded',
  data: '{}',
  metadata: '{}',
  recordedAtMicros,
});

describe('partitionOfStream', () => {
  it.each([
    { stream: 'usage-t1_acct42.2026-11', tenant: 't1', category: 'usage' },
    { stream: 'usagecorrections-acme_acct_7', tenant: 'acme', category: 'usagecorrections' },
    { stream: 'invoice-t2_inv-2026-11-001', tenant: 't2', category: 'invoice' },
    // not `{category}-{tenant}_{id}`: archived all the same, under tenant `_`
    { stream: 'checkpoint', tenant: '_', category: 'checkpoint' },
    { stream: 'odd-name', tenant: '_', category: 'odd' },
    // a name that would climb out of its folder is made safe
    { stream: '..-../x_1', tenant: '~~x', category: '~' },
  ])('$stream → tenant $tenant, category $category', ({ stream, tenant, category }) => {
    expect(partitionOfStream(stream)).toEqual({ tenant, category });
  });
});

describe('utcMonthOfMicros', () => {
  it('puts the last microsecond of November in November and the next in December', () => {
    expect(utcMonthOfMicros(lastMicroOfNovember)).toBe('2026-11');
    expect(utcMonthOfMicros(firstMicroOfDecember)).toBe('2026-12');
  });
});

describe('segmentsOf', () => {
  it('groups rows by tenant, category and month, in position order, with their range', () => {
    const rows = [
      row(1n, 'usage-t1_a.2026-11'),
      row(2n, 'usage-t2_a.2026-11'),
      row(3n, 'invoice-t1_i1'),
      row(4n, 'usage-t1_b.2026-11'),
      row(5n, 'usage-t1_a.2026-12', firstMicroOfDecember),
    ];
    expect(
      segmentsOf(rows).map((s) => ({
        id: `${s.tenant}/${s.category}/${s.month}`,
        from: s.fromPosition,
        to: s.toPosition,
        positions: s.rows.map((r) => r.globalPosition),
      })),
    ).toEqual([
      { id: 't1/usage/2026-11', from: 1n, to: 4n, positions: [1n, 4n] },
      { id: 't2/usage/2026-11', from: 2n, to: 2n, positions: [2n] },
      { id: 't1/invoice/2026-11', from: 3n, to: 3n, positions: [3n] },
      { id: 't1/usage/2026-12', from: 5n, to: 5n, positions: [5n] },
    ]);
  });
});

describe('sealableRun', () => {
  it('stops at the first row recorded at or after the cutoff, even when older rows follow it', () => {
    const rows = [
      row(1n, 's-t_1', 10n),
      row(2n, 's-t_1', 19n),
      row(3n, 's-t_1', 20n),
      row(4n, 's-t_1', 15n), // older than the cutoff but after a younger row: waits for the next seal
    ];
    expect(sealableRun(rows, 20n).map((r) => r.globalPosition)).toEqual([1n, 2n]);
    expect(sealableRun(rows, 21n).map((r) => r.globalPosition)).toEqual([1n, 2n, 3n, 4n]);
    expect(sealableRun(rows, 10n)).toEqual([]);
  });
});

describe('segmentKey', () => {
  it('names archive/<tenant>/<category>/<yyyy-mm>/<from>-<to>.parquet with positions padded to sort', () => {
    expect(segmentKey({ tenant: 't1', category: 'usage', month: '2026-11', fromPosition: 7n, toPosition: 1234n })).toBe(
      'archive/t1/usage/2026-11/0000000000000000007-0000000000000001234.parquet',
    );
  });
});

describe('sha256Hex', () => {
  it('is the hex SHA-256 of the bytes', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});
