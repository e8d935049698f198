import { describe, expect, it } from 'vitest';
import type { Adjustment, LineLike } from './adjustments';
import { adjustmentLines, billedQuantities, netAmount } from './adjustments';
import type { Charge } from './charge';
import { rateUsage } from './rating';

const charge = (fields: Partial<Charge>): Charge => ({
  meter: 'api-calls',
  model: 'unit',
  per: null,
  allowance: '0',
  unitPrice: null,
  tiers: null,
  packageSize: null,
  packagePrice: null,
  description: null,
  ...fields,
});

// 100 calls free, then 0.5 a call
const perCall = charge({ allowance: '100', unitPrice: '0.5' });
// the same, but the allowance is per app
const perCallPerApp = charge({ allowance: '100', unitPrice: '0.5', per: 'app' });
// graduated, nothing free: up to 100 @0.1, up to 1000 @0.08 + 5 flat, above @0.05
const graduated = charge({
  model: 'graduated',
  tiers: [
    { upTo: '100', unitPrice: '0.1', flatPrice: '0' },
    { upTo: '1000', unitPrice: '0.08', flatPrice: '5' },
    { upTo: null, unitPrice: '0.05', flatPrice: '0' },
  ],
});

const segment = { from: '2026-11-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z', planId: 'basic', planVersion: 1 };
const adjusts = { invoiceId: 'inv-nov', period: '2026-11' };

/** The invoice lines of a period as rating makes them: quantities by group (null: the whole subscription). */
const lines = (c: Charge, quantities: Record<string, string> | string): LineLike[] =>
  rateUsage(
    [c],
    typeof quantities === 'string'
      ? [{ meter: c.meter, perValue: null, quantity: quantities }]
      : Object.entries(quantities).map(([perValue, quantity]) => ({ meter: c.meter, perValue, quantity })),
  ).map((line) => ({ kind: 'usage', segment, ...line }));

/** The parts of an adjustment that carry the arithmetic. */
const delta = ({
  perValue,
  tier,
  quantity,
  billedQuantity,
  units,
  flatPrice,
  amount,
  billedAmount,
  currentAmount,
}: Adjustment) => ({
  perValue,
  tier,
  quantity,
  billedQuantity,
  units,
  flatPrice,
  amount,
  billedAmount,
  currentAmount,
});

describe('adjustmentLines: unit charge, 100 free, 0.5 a call', () => {
  it('nothing changed since billing → no line', () =>
    expect(adjustmentLines(adjusts, lines(perCall, '150'), lines(perCall, '150'))).toEqual([]));

  it('late usage raises 150 → 170: one line for the difference', () => {
    // billed: (150 − 100) × 0.5 = 25; now: (170 − 100) × 0.5 = 35; 35 − 25 = 10 = 20 calls × 0.5
    const out = adjustmentLines(adjusts, lines(perCall, '150'), lines(perCall, '170'));
    expect(out).toEqual([
      {
        kind: 'adjustment',
        segment,
        meter: 'api-calls',
        model: 'unit',
        per: null,
        perValue: null,
        quantity: '170',
        allowanceApplied: '100',
        tier: null,
        units: '20',
        unitPrice: '0.5',
        flatPrice: '0',
        amount: '10',
        adjusts,
        billedQuantity: '150',
        billedAmount: '25',
        currentAmount: '35',
      },
    ]);
    expect(netAmount(out).toFixed()).toBe('10');
  });

  it('a void lowers 150 → 130: a negative line, a negative net', () => {
    // now: (130 − 100) × 0.5 = 15; 15 − 25 = −10 = −20 calls × 0.5
    const out = adjustmentLines(adjusts, lines(perCall, '150'), lines(perCall, '130'));
    expect(out.map(delta)).toEqual([
      {
        perValue: null,
        tier: null,
        quantity: '130',
        billedQuantity: '150',
        units: '-20',
        flatPrice: '0',
        amount: '-10',
        billedAmount: '25',
        currentAmount: '15',
      },
    ]);
    expect(netAmount(out).toFixed()).toBe('-10');
    expect(netAmount(out).isNegative()).toBe(true);
  });

  it('a drop to below the allowance 150 → 80: the whole billed amount back', () =>
    // now: 80 ≤ 100, free; 0 − 25 = −25, −50 billed calls
    expect(adjustmentLines(adjusts, lines(perCall, '150'), lines(perCall, '80')).map(delta)).toEqual([
      {
        perValue: null,
        tier: null,
        quantity: '80',
        billedQuantity: '150',
        units: '-50',
        flatPrice: '0',
        amount: '-25',
        billedAmount: '25',
        currentAmount: '0',
      },
    ]));

  it.each([
    // 50 → 80: both inside the 100 free, both cost 0
    { billed: '50', current: '80' },
    // 80 → 100: exactly the allowance is still free
    { billed: '80', current: '100' },
    // 90 → 0: all usage voided, still free
    { billed: '90', current: '0' },
  ])(
    'a change inside the allowance $billed → $current: one zero line that records the new quantity',
    ({ billed, current }) => {
      const out = adjustmentLines(adjusts, lines(perCall, billed), lines(perCall, current));
      expect(out.map(delta)).toEqual([
        {
          perValue: null,
          tier: null,
          quantity: current,
          billedQuantity: billed,
          units: '0',
          flatPrice: '0',
          amount: '0',
          billedAmount: '0',
          currentAmount: '0',
        },
      ]);
      expect(out[0]).toMatchObject({ kind: 'adjustment', adjusts, unitPrice: '0.5', meter: 'api-calls' });
      expect(netAmount(out).isZero()).toBe(true);
    },
  );

  describe('after a first adjustment was billed', () => {
    // invoice: 150 → 25; first adjustment: 170 → +10; billed so far 35 for 170 calls
    const invoice = lines(perCall, '150');
    const first = adjustmentLines(adjusts, invoice, lines(perCall, '170'));
    const billed = [...invoice, ...first];

    it('the billed quantity is the latest one billed, the adjustment’s', () =>
      expect([...billedQuantities(billed).values()]).toEqual(['170']));

    it('only the new delta 170 → 180', () =>
      // now: (180 − 100) × 0.5 = 40; 40 − (25 + 10) = 5 = 10 calls × 0.5
      expect(adjustmentLines(adjusts, billed, lines(perCall, '180')).map(delta)).toEqual([
        {
          perValue: null,
          tier: null,
          quantity: '180',
          billedQuantity: '170',
          units: '10',
          flatPrice: '0',
          amount: '5',
          billedAmount: '35',
          currentAmount: '40',
        },
      ]));

    it('nothing new since → no line (the first adjustment is not billed again)', () =>
      expect(adjustmentLines(adjusts, billed, lines(perCall, '170'))).toEqual([]));

    it('back down to the invoiced 150: the first adjustment reversed', () =>
      // now 25; 25 − 35 = −10
      expect(adjustmentLines(adjusts, billed, lines(perCall, '150')).map(delta)).toEqual([
        {
          perValue: null,
          tier: null,
          quantity: '150',
          billedQuantity: '170',
          units: '-20',
          flatPrice: '0',
          amount: '-10',
          billedAmount: '35',
          currentAmount: '25',
        },
      ]));

    it('a zero first adjustment inside the allowance, then another quantity change: billed quantity is the first adjustment’s', () => {
      const free = lines(perCall, '50');
      const billedFree = [...free, ...adjustmentLines(adjusts, free, lines(perCall, '80'))];
      // 80 → 90, still free
      expect(adjustmentLines(adjusts, billedFree, lines(perCall, '90')).map(delta)).toEqual([
        {
          perValue: null,
          tier: null,
          quantity: '90',
          billedQuantity: '80',
          units: '0',
          flatPrice: '0',
          amount: '0',
          billedAmount: '0',
          currentAmount: '0',
        },
      ]);
    });
  });
});

describe('adjustmentLines: graduated tiers', () => {
  it('nothing changed across two tiers → no line', () =>
    expect(adjustmentLines(adjusts, lines(graduated, '150'), lines(graduated, '150'))).toEqual([]));

  it('80 → 150 crosses into tier 2: one line per tier, summing to the change', () => {
    // billed: tier 1: 80 × 0.1 = 8
    // now:    tier 1: 100 × 0.1 = 10; tier 2: 50 × 0.08 + 5 flat = 9; total 19
    // lines:  tier 1: +20 units, 10 − 8 = 2; tier 2: +50 units, +5 flat, 9 − 0 = 9; 2 + 9 = 11 = 19 − 8
    const out = adjustmentLines(adjusts, lines(graduated, '80'), lines(graduated, '150'));
    expect(out.map(delta)).toEqual([
      {
        perValue: null,
        tier: 1,
        quantity: '150',
        billedQuantity: '80',
        units: '20',
        flatPrice: '0',
        amount: '2',
        billedAmount: '8',
        currentAmount: '10',
      },
      {
        perValue: null,
        tier: 2,
        quantity: '150',
        billedQuantity: '80',
        units: '50',
        flatPrice: '5',
        amount: '9',
        billedAmount: '0',
        currentAmount: '9',
      },
    ]);
    expect(out.map((l) => l.unitPrice)).toEqual(['0.1', '0.08']);
    expect(netAmount(out).toFixed()).toBe('11');
  });

  it('150 → 80 falls back into tier 1: tier 2 reversed with its flat fee', () => {
    // tier 1: 8 − 10 = −2 (−20 units); tier 2: 0 − 9 = −9 (−50 units, −5 flat); −11 = 8 − 19
    const out = adjustmentLines(adjusts, lines(graduated, '150'), lines(graduated, '80'));
    expect(out.map(delta)).toEqual([
      {
        perValue: null,
        tier: 1,
        quantity: '80',
        billedQuantity: '150',
        units: '-20',
        flatPrice: '0',
        amount: '-2',
        billedAmount: '10',
        currentAmount: '8',
      },
      {
        perValue: null,
        tier: 2,
        quantity: '80',
        billedQuantity: '150',
        units: '-50',
        flatPrice: '-5',
        amount: '-9',
        billedAmount: '9',
        currentAmount: '0',
      },
    ]);
    expect(netAmount(out).toFixed()).toBe('-11');
  });

  it('150 → 1001 crosses into tier 3: tier 1 unchanged gets no line', () => {
    // billed: 10 + 9 = 19. now: tier 1 10; tier 2: 900 × 0.08 + 5 = 77; tier 3: 1 × 0.05 = 0.05; total 87.05
    // tier 2: +850 units, 77 − 9 = 68; tier 3: 0.05; 68.05 = 87.05 − 19
    const out = adjustmentLines(adjusts, lines(graduated, '150'), lines(graduated, '1001'));
    expect(out.map(delta)).toEqual([
      {
        perValue: null,
        tier: 2,
        quantity: '1001',
        billedQuantity: '150',
        units: '850',
        flatPrice: '0',
        amount: '68',
        billedAmount: '9',
        currentAmount: '77',
      },
      {
        perValue: null,
        tier: 3,
        quantity: '1001',
        billedQuantity: '150',
        units: '1',
        flatPrice: '0',
        amount: '0.05',
        billedAmount: '0',
        currentAmount: '0.05',
      },
    ]);
    expect(netAmount(out).toFixed()).toBe('68.05');
  });

  it('all usage voided 150 → 0: both tiers back to zero (the zero line of "nothing used" moves no money)', () => {
    // 0 − 10 = −10 and 0 − 9 = −9: −19
    const out = adjustmentLines(adjusts, lines(graduated, '150'), lines(graduated, '0'));
    expect(out.map(delta)).toEqual([
      {
        perValue: null,
        tier: 1,
        quantity: '0',
        billedQuantity: '150',
        units: '-100',
        flatPrice: '0',
        amount: '-10',
        billedAmount: '10',
        currentAmount: '0',
      },
      {
        perValue: null,
        tier: 2,
        quantity: '0',
        billedQuantity: '150',
        units: '-50',
        flatPrice: '-5',
        amount: '-9',
        billedAmount: '9',
        currentAmount: '0',
      },
    ]);
    expect(netAmount(out).toFixed()).toBe('-19');
  });
});

describe('adjustmentLines: groups (per app, 100 free each)', () => {
  it('a change in one group leaves the other alone', () =>
    // b: 120 → 130: (130 − 100) × 0.5 = 15 − 10 = 5
    expect(
      adjustmentLines(
        adjusts,
        lines(perCallPerApp, { a: '150', b: '120' }),
        lines(perCallPerApp, { a: '150', b: '130' }),
      ).map(delta),
    ).toEqual([
      {
        perValue: 'b',
        tier: null,
        quantity: '130',
        billedQuantity: '120',
        units: '10',
        flatPrice: '0',
        amount: '5',
        billedAmount: '10',
        currentAmount: '15',
      },
    ]));

  it('a group whose usage all moved to another: the new one charged, the gone one back to zero', () => {
    // billed: a 150 → 25, b 120 → 10 (35). Now all 270 calls are a's: (270 − 100) × 0.5 = 85.
    // a: 85 − 25 = +60 (+120 units); b: 0 − 10 = −10 (−20 units), quantity 0; net 50 = 85 − 35
    const out = adjustmentLines(
      adjusts,
      lines(perCallPerApp, { a: '150', b: '120' }),
      lines(perCallPerApp, { a: '270' }),
    );
    expect(out.map(delta)).toEqual([
      {
        perValue: 'a',
        tier: null,
        quantity: '270',
        billedQuantity: '150',
        units: '120',
        flatPrice: '0',
        amount: '60',
        billedAmount: '25',
        currentAmount: '85',
      },
      {
        perValue: 'b',
        tier: null,
        quantity: '0',
        billedQuantity: '120',
        units: '-20',
        flatPrice: '0',
        amount: '-10',
        billedAmount: '10',
        currentAmount: '0',
      },
    ]);
    expect(out.every((l) => l.per === 'app' && l.kind === 'adjustment')).toBe(true);
    expect(netAmount(out).toFixed()).toBe('50');
  });

  it('once the move is billed, the gone group is not adjusted again', () => {
    // billed: a 25 + 60 = 85 at 270 calls, b 10 − 10 = 0 at quantity 0: matches the ledger, nothing left to bill
    const invoice = lines(perCallPerApp, { a: '150', b: '120' });
    const moved = adjustmentLines(adjusts, invoice, lines(perCallPerApp, { a: '270' }));
    expect(adjustmentLines(adjusts, [...invoice, ...moved], lines(perCallPerApp, { a: '270' }))).toEqual([]);
  });

  it('a free group that disappeared: a zero line setting its quantity to 0', () => {
    // billed: a 150 → 25, b 50 → 0 (free). Now a 200: (200 − 100) × 0.5 = 50, +25; b gone: 50 → 0, no money
    const out = adjustmentLines(
      adjusts,
      lines(perCallPerApp, { a: '150', b: '50' }),
      lines(perCallPerApp, { a: '200' }),
    );
    expect(out.map(delta)).toEqual([
      {
        perValue: 'a',
        tier: null,
        quantity: '200',
        billedQuantity: '150',
        units: '50',
        flatPrice: '0',
        amount: '25',
        billedAmount: '25',
        currentAmount: '50',
      },
      {
        perValue: 'b',
        tier: null,
        quantity: '0',
        billedQuantity: '50',
        units: '0',
        flatPrice: '0',
        amount: '0',
        billedAmount: '0',
        currentAmount: '0',
      },
    ]);
    expect(netAmount(out).toFixed()).toBe('25');
  });

  it('a new group: charged from zero', () =>
    // c appears with 130: (130 − 100) × 0.5 = 15
    expect(
      adjustmentLines(adjusts, lines(perCallPerApp, { a: '150' }), lines(perCallPerApp, { a: '150', c: '130' })).map(
        delta,
      ),
    ).toEqual([
      {
        perValue: 'c',
        tier: null,
        quantity: '130',
        billedQuantity: '0',
        units: '30',
        flatPrice: '0',
        amount: '15',
        billedAmount: '0',
        currentAmount: '15',
      },
    ]));
});

describe('billedQuantities', () => {
  it('the latest quantity per group, in billing order', () => {
    const invoice = lines(perCallPerApp, { a: '150', b: '120' });
    const adjustment = adjustmentLines(adjusts, invoice, lines(perCallPerApp, { a: '150', b: '130' }));
    expect([...billedQuantities([...invoice, ...adjustment]).values()]).toEqual(['150', '130']);
  });

  it('one entry per group however many tier lines it has', () =>
    expect([...billedQuantities(lines(graduated, '1001')).values()]).toEqual(['1001']));
});

describe('netAmount', () => {
  it.each([
    { amounts: [], net: '0' },
    // 0.1 + 0.2 = 0.3 exactly (a float says 0.30000000000000004)
    { amounts: ['0.1', '0.2'], net: '0.3' },
    // 10 − 10.005 = −0.005, never rounded
    { amounts: ['10', '-10.005'], net: '-0.005' },
  ])('$amounts → $net', ({ amounts, net }) =>
    expect(netAmount(amounts.map((amount) => ({ amount }))).toFixed()).toBe(net),
  );
});
