import { describe, expect, it } from 'vitest';
import type { ArchiveRow } from './archive-row';
import { decodeSegment, encodeSegment } from './segment.parquet';

const row = (i: number, data: string): ArchiveRow => ({
  globalPosition: 9_007_199_254_740_993n + BigInt(i), // above 2^53: a JS number would round it
  streamName: 'usage-t1_acct42.2026-11',
  streamRevision: BigInt(i),
  eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  eventType: 'UsageRecorded',
  data,
  metadata: '{"traceparent": "00-abc-01"}',
  recordedAtMicros: 1_795_000_000_123_457n + BigInt(i), // the microseconds a Date would drop
});

describe('a Parquet segment', () => {
  it('reads back exactly the rows written: positions, decimals as digits, unicode, microseconds', async () => {
    const rows = [
      row(0, '{"quantity": "12345678901234567890.123456789", "meter": "gbSeconds"}'),
      // a decimal stored as a JSON number in jsonb: kept as its digits, never passed through a float
      row(1, '{"amount": 12345678901234567890.123456789}'),
      row(2, '{"subject": "Zürich ☃ 東京 🚀", "note": "tab\\t and \\"quotes\\""}'),
      row(3, '{}'),
    ];
    const back = await decodeSegment(encodeSegment(rows));
    expect(back).toEqual(rows);
  });

  it('writes the same bytes for the same rows (a re-seal recognises its own file)', () => {
    const rows = [row(0, '{"a": "1"}'), row(1, '{"b": "2"}')];
    expect(Buffer.from(encodeSegment(rows)).equals(Buffer.from(encodeSegment(rows)))).toBe(true);
  });

  it('keeps many rows across row groups in order', async () => {
    const rows = Array.from({ length: 2_500 }, (_, i) => row(i, `{"i": "${i}"}`));
    const back = await decodeSegment(encodeSegment(rows));
    expect(back).toHaveLength(2_500);
    expect(back[2_499]).toEqual(rows[2_499]);
  });
});
