import type { MeterCreatedV1 } from '@tally/contracts/meters';
import type {
  Attribution,
  UsageAmendedV1,
  UsageReattributedV1,
  UsageRecordedV1,
  UsageVoidedV1,
} from '@tally/contracts/usage';
import { describe, expect, it } from 'vitest';
import type { LedgerEventLike, LedgerState, LedgerUsage } from './ledger-usage';
import { emptyLedgerState, foldLedger, ledgerEventTypes, meterValue, reconciledEvents } from './ledger-usage';

const attributed = (accountId: string): Attribution => ({
  status: 'attributed',
  accountId,
  subscriptionId: `sub-${accountId}`,
  planId: 'basic',
  attributes: { app: 'forge' },
});
const parked: Attribution = { status: 'parked', reason: 'unknown_subject' };

// Ledger events, each at its global position.
const recorded = (
  position: bigint,
  usageId: string,
  data: Record<string, unknown>,
  attribution: Attribution = attributed('acct-1'),
): LedgerEventLike => {
  const r: UsageRecordedV1 = {
    tenant: 't1',
    usageId,
    source: '//fn-runtime/eu-1',
    eventId: `evt-${usageId}`,
    eventType: 'fn.invocation',
    subject: 'installation-42',
    time: '2026-11-25T10:00:00.000Z',
    receivedAt: '2026-11-25T10:00:01.000Z',
    data,
    attribution,
  };
  return { type: 'UsageRecorded', data: { ...r }, globalPosition: position };
};
const reattributed = (position: bigint, usageId: string, previous: Attribution, next: Attribution): LedgerEventLike => {
  const r: UsageReattributedV1 = {
    tenant: 't1',
    usageId,
    subject: 'installation-42',
    eventType: 'fn.invocation',
    time: '2026-11-25T10:00:00.000Z',
    previous,
    next,
    reason: 'transfer',
    causeId: 'cause-1',
  };
  return { type: 'UsageReattributed', data: { ...r }, globalPosition: position };
};
const correction = (usageId: string): UsageVoidedV1 => ({
  tenant: 't1',
  usageId,
  source: '//fn-runtime/eu-1',
  eventId: `evt-${usageId}`,
  reason: 'test',
  correctedAt: '2026-11-26T00:00:00.000Z',
});
const voided = (position: bigint, usageId: string): LedgerEventLike => ({
  type: 'UsageVoided',
  data: { ...correction(usageId) },
  globalPosition: position,
});
const amended = (position: bigint, usageId: string, data: Record<string, unknown>): LedgerEventLike => {
  const a: UsageAmendedV1 = { ...correction(usageId), data };
  return { type: 'UsageAmended', data: { ...a }, globalPosition: position };
};
const meter = (slug: string): MeterCreatedV1 => ({
  tenant: 't1',
  slug,
  name: slug,
  description: null,
  eventType: 'fn.invocation',
  aggregation: 'SUM',
  valueProperty: '$.tokens',
  groupBy: {},
  createdAt: '2026-11-01T00:00:00.000Z',
});
const meterCreated = (position: bigint, slug: string): LedgerEventLike => ({
  type: 'MeterCreated',
  data: { ...meter(slug) },
  globalPosition: position,
});
const meterDeleted = (position: bigint, slug: string): LedgerEventLike => ({
  type: 'MeterDeleted',
  data: { tenant: 't1', slug, deletedAt: '2026-11-20T00:00:00.000Z' },
  globalPosition: position,
});

const fold = (...events: LedgerEventLike[]): LedgerState => events.reduce(foldLedger, emptyLedgerState());
const usageOf = (state: LedgerState, usageId = 'u1'): LedgerUsage | undefined => state.usage.get(usageId);

describe('foldLedger', () => {
  it('starts empty', () =>
    expect(emptyLedgerState()).toEqual({ usage: new Map(), meters: new Map(), pending: new Map() }));

  describe('UsageRecorded', () => {
    it('keeps the usage with its data, attribution and account', () =>
      expect(usageOf(fold(recorded(10n, 'u1', { tokens: 5 })))).toEqual({
        usageId: 'u1',
        eventType: 'fn.invocation',
        subject: 'installation-42',
        time: '2026-11-25T10:00:00.000Z',
        data: { tokens: 5 },
        attribution: attributed('acct-1'),
        voided: false,
        accounts: new Set(['acct-1']),
        lastPosition: 10n,
      }));

    it('parked usage belongs to no account yet', () =>
      expect(usageOf(fold(recorded(10n, 'u1', { tokens: 5 }, parked)))).toMatchObject({
        attribution: parked,
        accounts: new Set(),
      }));

    it('a duplicate is ignored: the first one stands', () =>
      expect(
        usageOf(fold(recorded(10n, 'u1', { tokens: 5 }), recorded(11n, 'u1', { tokens: 99 }, attributed('acct-2')))),
      ).toMatchObject({
        data: { tokens: 5 },
        attribution: attributed('acct-1'),
        accounts: new Set(['acct-1']),
        lastPosition: 10n,
      }));
  });

  describe('UsageReattributed', () => {
    it('replaces the attribution and keeps both accounts (the move touches both)', () =>
      expect(
        usageOf(
          fold(recorded(10n, 'u1', { tokens: 5 }), reattributed(12n, 'u1', attributed('acct-1'), attributed('acct-2'))),
        ),
      ).toMatchObject({
        attribution: attributed('acct-2'),
        accounts: new Set(['acct-1', 'acct-2']),
        lastPosition: 12n,
      }));

    it('parked, then attributed: the account it got', () =>
      expect(
        usageOf(
          fold(recorded(10n, 'u1', { tokens: 5 }, parked), reattributed(12n, 'u1', parked, attributed('acct-1'))),
        ),
      ).toMatchObject({
        attribution: attributed('acct-1'),
        accounts: new Set(['acct-1']),
      }));

    it('attributed, then parked: parked now, the old account still touched', () =>
      expect(
        usageOf(fold(recorded(10n, 'u1', { tokens: 5 }), reattributed(12n, 'u1', attributed('acct-1'), parked))),
      ).toMatchObject({
        attribution: parked,
        accounts: new Set(['acct-1']),
      }));

    it('of usage the ledger does not have changes nothing', () =>
      expect(fold(reattributed(12n, 'u9', parked, attributed('acct-1')))).toEqual(emptyLedgerState()));
  });

  describe('UsageVoided', () => {
    it('after the record: voided, at the void’s position', () =>
      expect(usageOf(fold(recorded(10n, 'u1', { tokens: 5 }), voided(13n, 'u1')))).toMatchObject({
        voided: true,
        data: { tokens: 5 },
        lastPosition: 13n,
      }));

    it('before the record: pending, then applied when the usage arrives', () => {
      const before = fold(voided(9n, 'u1'));
      expect(before.usage.size).toBe(0);
      expect(before.pending.get('u1')).toEqual({ voided: true, data: undefined, position: 9n });
      const after = foldLedger(before, recorded(10n, 'u1', { tokens: 5 }));
      expect(usageOf(after)).toMatchObject({ voided: true, data: { tokens: 5 }, lastPosition: 10n });
      expect(after.pending.size).toBe(0);
    });
  });

  describe('UsageAmended', () => {
    it('after the record: the data replaced', () =>
      expect(usageOf(fold(recorded(10n, 'u1', { tokens: 5 }), amended(14n, 'u1', { tokens: 7 })))).toMatchObject({
        voided: false,
        data: { tokens: 7 },
        lastPosition: 14n,
      }));

    it('amended twice: the latest data wins', () =>
      expect(
        usageOf(
          fold(
            recorded(10n, 'u1', { tokens: 5 }),
            amended(14n, 'u1', { tokens: 7 }),
            amended(15n, 'u1', { tokens: 8 }),
          ),
        )?.data,
      ).toEqual({ tokens: 8 }));

    it('before the record: the amended data applied when the usage arrives', () => {
      const after = fold(amended(9n, 'u1', { tokens: 7 }), recorded(10n, 'u1', { tokens: 5 }));
      expect(usageOf(after)).toMatchObject({ voided: false, data: { tokens: 7 } });
      expect(after.pending.size).toBe(0);
    });

    it.each([
      { order: 'amended, then voided', events: [amended(8n, 'u1', { tokens: 7 }), voided(9n, 'u1')] },
      { order: 'voided, then amended', events: [voided(8n, 'u1'), amended(9n, 'u1', { tokens: 7 })] },
    ])('$order before the record: both applied', ({ events }) =>
      expect(usageOf(fold(...events, recorded(10n, 'u1', { tokens: 5 })))).toMatchObject({
        voided: true,
        data: { tokens: 7 },
      }),
    );

    it('amending voided usage keeps it voided', () =>
      expect(
        usageOf(fold(recorded(10n, 'u1', { tokens: 5 }), voided(11n, 'u1'), amended(12n, 'u1', { tokens: 7 }))),
      ).toMatchObject({ voided: true, data: { tokens: 7 } }));
  });

  describe('meters', () => {
    it('MeterCreated keeps the meter by slug', () =>
      expect(fold(meterCreated(1n, 'tokens')).meters).toEqual(new Map([['tokens', meter('tokens')]])));

    it('MeterDeleted removes it, and only it', () =>
      expect([
        ...fold(meterCreated(1n, 'tokens'), meterCreated(2n, 'calls'), meterDeleted(3n, 'tokens')).meters.keys(),
      ]).toEqual(['calls']));

    it('a slug can be created again after its deletion', () =>
      expect([
        ...fold(meterCreated(1n, 'tokens'), meterDeleted(2n, 'tokens'), meterCreated(3n, 'tokens')).meters.keys(),
      ]).toEqual(['tokens']));
  });

  it('reads usage, corrections and meters only: other kinds are not its events (and cannot be folded)', () => {
    expect(reconciledEvents({ type: 'InvoiceDrafted' })).toBe(false);
    expect(reconciledEvents({ type: 'UsageAmended' })).toBe(true);
    expect([...ledgerEventTypes].sort()).toEqual([
      'MeterCreated',
      'MeterDeleted',
      'MeterUpdated',
      'UsageAmended',
      'UsageReattributed',
      'UsageRecorded',
      'UsageVoided',
    ]);
  });
});

describe('meterValue', () => {
  type Aggregation = MeterCreatedV1['aggregation'];
  const by = (aggregation: Aggregation) => ({
    aggregation,
    valueProperty: aggregation === 'COUNT' ? null : '$.tokens',
    groupBy: {},
  });
  let n = 0;
  /** Usage with these data, 1 minute apart unless a time is given. */
  const usage = (data: Record<string, unknown>, time?: string, usageId?: string): LedgerUsage => {
    n += 1;
    return {
      usageId: usageId ?? `u${String(n).padStart(4, '0')}`,
      eventType: 'fn.invocation',
      subject: 'installation-1',
      time: time ?? new Date(Date.UTC(2026, 10, 25, 10, n)).toISOString(),
      data,
      attribution: attributed('acct-1'),
      voided: false,
      accounts: new Set(['acct-1']),
      lastPosition: BigInt(n),
    };
  };
  const tokens = (...values: unknown[]) => values.map((tokens) => usage(tokens === undefined ? {} : { tokens }));
  const nines = (digits: number) => '9'.repeat(digits);

  describe('SUM', () => {
    it.each([
      // exact: a float would give 0.30000000000000004
      { name: '0.1 + 0.2', values: ['0.1', '0.2'], sum: '0.3' },
      // JSON numbers read as their decimal text
      { name: '1 + 2.5 + "3"', values: [1, 2.5, '3'], sum: '6.5' },
      // corrections may be negative
      { name: '10 + (−12.5)', values: ['10', '-12.5'], sum: '-2.5' },
      // 32 nines .12 nines + 10⁻¹² = 10³² (far beyond a float's 15–17 significant digits)
      {
        name: '(10³² − 10⁻¹²) + 10⁻¹²',
        values: [`${nines(32)}.${nines(12)}`, '0.000000000001'],
        sum: `1${'0'.repeat(32)}`,
      },
      // 12345678901234567890.123456789 × 2
      {
        name: '2 × 12345678901234567890.123456789',
        values: ['12345678901234567890.123456789', '12345678901234567890.123456789'],
        sum: '24691357802469135780.246913578',
      },
      // trailing zeros dropped in the canonical text
      { name: '1.50 + 2.50', values: ['1.50', '2.50'], sum: '4' },
    ])('$name = $sum', ({ values, sum }) => expect(meterValue(by('SUM'), tokens(...values))).toBe(sum));

    it.each([
      // not numbers: text, booleans, objects, hex, Infinity, empty text, null and missing — skipped, the rest summed
      {
        name: 'text, booleans, objects, hex, Infinity, empty text, null and missing',
        values: [5, 'abc', true, { n: 1 }, '0x10', 'Infinity', '', null, undefined],
        sum: '5',
      },
      { name: 'a missing value between two', values: ['2.5', undefined, '2.5'], sum: '5' },
    ])('skips $name: $sum', ({ values, sum }) => expect(meterValue(by('SUM'), tokens(...values))).toBe(sum));

    it('events, but no numeric reading → 0 (there was usage; it measured nothing)', () =>
      expect(meterValue(by('SUM'), tokens('abc', undefined, null))).toBe('0'));

    it('reads a nested property', () =>
      expect(
        meterValue({ aggregation: 'SUM', valueProperty: '$.usage.tokens', groupBy: {} }, [
          usage({ usage: { tokens: '4' } }),
          usage({ usage: { tokens: '0.5' } }),
        ]),
      ).toBe('4.5'));
  });

  describe('COUNT', () => {
    it.each([
      { name: 'one event', values: [5], count: '1' },
      // every event counts, whatever its data
      { name: 'a number, a text and a missing value', values: [5, 'abc', undefined], count: '3' },
    ])('$name → $count', ({ values, count }) => expect(meterValue(by('COUNT'), tokens(...values))).toBe(count));

    it('even with a value property, counts events, not values', () =>
      expect(
        meterValue({ aggregation: 'COUNT', valueProperty: '$.tokens', groupBy: {} }, tokens(1, undefined, 'x')),
      ).toBe('3'));
  });

  describe('MIN and MAX', () => {
    it.each([
      { values: ['10', '-2.5', '3'], min: '-2.5', max: '10' },
      // equal values in different texts: one canonical answer
      { values: ['1.10', '1.1'], min: '1.1', max: '1.1' },
      // beyond a float: these differ only in the 30th digit
      {
        values: ['1.00000000000000000000000000001', '1.00000000000000000000000000002'],
        min: '1.00000000000000000000000000001',
        max: '1.00000000000000000000000000002',
      },
      // a non-numeric or missing value is no 0: min stays 5, not 0
      { values: [5, 'abc', undefined, 7], min: '5', max: '7' },
      // negative readings: max stays −1, not 0
      { values: ['-3', undefined, '-1'], min: '-3', max: '-1' },
    ])('$values → min $min, max $max', ({ values, min, max }) => {
      expect(meterValue(by('MIN'), tokens(...values))).toBe(min);
      expect(meterValue(by('MAX'), tokens(...values))).toBe(max);
    });
  });

  describe('AVG: divided at 40 decimal places, half away from zero', () => {
    const places40 = (digits: string) => `0.${digits.padStart(40, '0')}`;
    it.each([
      // (1 + 2) / 2 = 1.5
      { name: '(1 + 2) / 2', values: ['1', '2'], avg: '1.5' },
      // 1/3 = 0.333…: 40 threes, the 41st (3) rounds down
      { name: '1/3', values: ['1', '0', '0'], avg: places40('3'.repeat(40)) },
      // 2/3 = 0.666…: 39 sixes then 7 (the 41st digit 6 rounds up)
      { name: '2/3', values: ['1', '1', '0'], avg: places40(`${'6'.repeat(39)}7`) },
      // −2/3: away from zero
      { name: '−2/3', values: ['-1', '-1', '0'], avg: `-${places40(`${'6'.repeat(39)}7`)}` },
      // exactly half at the 41st place: 5 × 10⁻⁴¹ rounds up to 10⁻⁴⁰
      { name: '5 × 10⁻⁴¹', values: [`0.${'0'.repeat(40)}5`], avg: places40('1') },
      // and −5 × 10⁻⁴¹ to −10⁻⁴⁰ (half away from zero, not towards +∞)
      { name: '−5 × 10⁻⁴¹', values: [`-0.${'0'.repeat(40)}5`], avg: `-${places40('1')}` },
      // below half at the 41st place: 4 × 10⁻⁴¹ → 0
      { name: '4 × 10⁻⁴¹', values: [`0.${'0'.repeat(40)}4`], avg: '0' },
      // non-numeric and missing values are not averaged in as 0: (4 + 8) / 2 = 6, not 12 / 4 = 3
      { name: '(4, abc, missing, 8)', values: [4, 'abc', undefined, 8], avg: '6' },
    ])('avg $name → $avg', ({ values, avg }) => expect(meterValue(by('AVG'), tokens(...values))).toBe(avg));
  });

  describe('UNIQUE_COUNT', () => {
    it.each([
      { values: ['a', 'b', 'a'], count: '2' },
      // a number and its text are the same identity: String(1) = '1'
      { values: [1, '1', 2], count: '2' },
      // objects and missing values are no identity
      { values: ['a', { id: 'a' }, undefined, null], count: '1' },
      // events, but nothing to count
      { values: [undefined, { id: 'a' }], count: '0' },
    ])('$values → $count', ({ values, count }) =>
      expect(meterValue(by('UNIQUE_COUNT'), tokens(...values))).toBe(count),
    );
  });

  describe('LATEST: the reading with the latest time; on a tie, the greatest usageId', () => {
    it('the latest time, whatever the order', () => {
      const events = [
        usage({ tokens: '5' }, '2026-11-25T10:00:00.000Z'),
        usage({ tokens: '7' }, '2026-11-25T12:00:00.000Z'),
        usage({ tokens: '9' }, '2026-11-25T11:00:00.000Z'),
      ];
      expect(meterValue(by('LATEST'), events)).toBe('7');
      expect(meterValue(by('LATEST'), [...events].reverse())).toBe('7');
    });

    it('a tie on time: the greatest usageId, whatever the order', () => {
      const at = '2026-11-25T12:00:00.000Z';
      const events = [
        usage({ tokens: '1' }, at, 'u-a'),
        usage({ tokens: '3' }, at, 'u-c'),
        usage({ tokens: '2' }, at, 'u-b'),
      ];
      expect(meterValue(by('LATEST'), events)).toBe('3');
      expect(meterValue(by('LATEST'), [...events].reverse())).toBe('3');
    });

    it('skips a latest event without a numeric reading', () =>
      expect(
        meterValue(by('LATEST'), [
          usage({ tokens: '5.50' }, '2026-11-25T10:00:00.000Z'),
          usage({ tokens: 'n/a' }, '2026-11-25T12:00:00.000Z'),
          usage({}, '2026-11-25T13:00:00.000Z'),
        ]),
      ).toBe('5.5'));
  });

  describe('no value', () => {
    it.each(['SUM', 'COUNT', 'UNIQUE_COUNT', 'MIN', 'MAX', 'AVG', 'LATEST'] as Aggregation[])(
      '%s over no events → undefined',
      (aggregation) => expect(meterValue(by(aggregation), [])).toBeUndefined(),
    );

    it.each(['MIN', 'MAX', 'AVG', 'LATEST'] as Aggregation[])(
      '%s over events without a numeric reading → undefined (never 0)',
      (aggregation) => expect(meterValue(by(aggregation), tokens('abc', undefined, null))).toBeUndefined(),
    );
  });
});
