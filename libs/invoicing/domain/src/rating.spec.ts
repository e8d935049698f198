import { describe, expect, it } from 'vitest';
import type { Charge, RatedLine } from './charge';
import { invoiceTotal, sumAmounts } from './money';
import { rateCharge, rateUsage } from './rating';

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

// upTo 100 @0.1, upTo 1000 @0.08 + 5 flat, above @0.05
const tiers = [
  { upTo: '100', unitPrice: '0.1', flatPrice: '0' },
  { upTo: '1000', unitPrice: '0.08', flatPrice: '5' },
  { upTo: null, unitPrice: '0.05', flatPrice: '0' },
];

/** The priced part of each line, enough to check the arithmetic. */
const priced = (lines: RatedLine[]) =>
  lines.map(({ tier, units, unitPrice, flatPrice, amount }) => ({ tier, units, unitPrice, flatPrice, amount }));
const zeroLine = (unitPrice: string) => ({ tier: null, units: '0', unitPrice, flatPrice: '0', amount: '0' });

describe('rateCharge', () => {
  describe('unit', () => {
    const perCall = charge({ unitPrice: '0.01', allowance: '1000' });

    it('prices billable units and traces the line to its meter, quantity and allowance', () =>
      // 1500 − 1000 free = 500 × 0.01 = 5
      expect(rateCharge(perCall, '1500', null)).toEqual([
        {
          meter: 'api-calls',
          model: 'unit',
          per: null,
          perValue: null,
          quantity: '1500',
          allowanceApplied: '1000',
          tier: null,
          units: '500',
          unitPrice: '0.01',
          flatPrice: '0',
          amount: '5',
        },
      ]));

    it.each([
      // allowance − 1: all free, 999 of the allowance used
      { quantity: '999', allowanceApplied: '999', units: '0', amount: '0' },
      // exactly the allowance: nothing to pay
      { quantity: '1000', allowanceApplied: '1000', units: '0', amount: '0' },
      // allowance + 1: 1 × 0.01 = 0.01
      { quantity: '1001', allowanceApplied: '1000', units: '1', amount: '0.01' },
      // nothing measured
      { quantity: '0', allowanceApplied: '0', units: '0', amount: '0' },
      // a negative SUM (corrections) is no credit and uses none of the allowance
      { quantity: '-5', allowanceApplied: '0', units: '0', amount: '0' },
    ])(
      'quantity $quantity with 1000 free → $units × 0.01 = $amount',
      ({ quantity, allowanceApplied, units, amount }) => {
        const lines = rateCharge(perCall, quantity, null);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({ quantity, allowanceApplied, tier: null, units, unitPrice: '0.01', amount });
      },
    );

    it.each([
      // 0.15 − 0.1 = 0.05 × 0.055 = 0.00275 (a float would make it 0.0027500000000000002)
      { quantity: '0.15', allowanceApplied: '0.1', units: '0.05', amount: '0.00275' },
      // 0.1 − 0.1 = 0
      { quantity: '0.1', allowanceApplied: '0.1', units: '0', amount: '0' },
      // 0.09 < 0.1: all free
      { quantity: '0.09', allowanceApplied: '0.09', units: '0', amount: '0' },
    ])('decimal allowance 0.1, quantity $quantity → $amount', ({ quantity, allowanceApplied, units, amount }) =>
      expect(rateCharge(charge({ allowance: '0.1', unitPrice: '0.055' }), quantity, null)[0]).toMatchObject({
        allowanceApplied,
        units,
        amount,
      }),
    );

    it('stays exact far beyond a float: 12345678901234567890.123456789 × 0.000000001', () =>
      // 12345678901234567890.123456789 × 10⁻⁹ = 12345678901.234567890123456789
      expect(rateCharge(charge({ unitPrice: '0.000000001' }), '12345678901234567890.123456789', null)[0].amount).toBe(
        '12345678901.234567890123456789',
      ));
  });

  describe('graduated: each part of the billable quantity at its own tier', () => {
    const graduated = charge({ model: 'graduated', tiers });
    it.each([
      // nothing billable: one zero line at the first tier's price, no flat fee
      { billable: '0', lines: [zeroLine('0.1')] },
      // 1 × 0.1 = 0.1
      { billable: '1', lines: [{ tier: 1, units: '1', unitPrice: '0.1', flatPrice: '0', amount: '0.1' }] },
      // 99 × 0.1 = 9.9
      { billable: '99', lines: [{ tier: 1, units: '99', unitPrice: '0.1', flatPrice: '0', amount: '9.9' }] },
      // 100 × 0.1 = 10 (upTo is inclusive: tier 2 is not reached, so no flat fee)
      { billable: '100', lines: [{ tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' }] },
      // 100 × 0.1 = 10; 1 × 0.08 + 5 = 5.08
      {
        billable: '101',
        lines: [
          { tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' },
          { tier: 2, units: '1', unitPrice: '0.08', flatPrice: '5', amount: '5.08' },
        ],
      },
      // 10; 0.5 × 0.08 + 5 = 5.04
      {
        billable: '100.5',
        lines: [
          { tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' },
          { tier: 2, units: '0.5', unitPrice: '0.08', flatPrice: '5', amount: '5.04' },
        ],
      },
      // 10; 899 × 0.08 + 5 = 71.92 + 5 = 76.92
      {
        billable: '999',
        lines: [
          { tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' },
          { tier: 2, units: '899', unitPrice: '0.08', flatPrice: '5', amount: '76.92' },
        ],
      },
      // 10; 900 × 0.08 + 5 = 72 + 5 = 77
      {
        billable: '1000',
        lines: [
          { tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' },
          { tier: 2, units: '900', unitPrice: '0.08', flatPrice: '5', amount: '77' },
        ],
      },
      // 10; 77; 1 × 0.05 = 0.05
      {
        billable: '1001',
        lines: [
          { tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' },
          { tier: 2, units: '900', unitPrice: '0.08', flatPrice: '5', amount: '77' },
          { tier: 3, units: '1', unitPrice: '0.05', flatPrice: '0', amount: '0.05' },
        ],
      },
    ])('$billable billable units', ({ billable, lines }) =>
      expect(priced(rateCharge(graduated, billable, null))).toEqual(lines),
    );

    it('takes the allowance off before the tiers, and shows quantity and allowance on every line', () => {
      // 301 − 200 free = 101 billable: 100 × 0.1 = 10; 1 × 0.08 + 5 = 5.08
      const lines = rateCharge({ ...graduated, allowance: '200' }, '301', 'app-1');
      expect(
        lines.map(({ perValue, quantity, allowanceApplied, tier, amount }) => ({
          perValue,
          quantity,
          allowanceApplied,
          tier,
          amount,
        })),
      ).toEqual([
        { perValue: 'app-1', quantity: '301', allowanceApplied: '200', tier: 1, amount: '10' },
        { perValue: 'app-1', quantity: '301', allowanceApplied: '200', tier: 2, amount: '5.08' },
      ]);
    });
  });

  describe('volume: all billable units at the tier the quantity falls in', () => {
    const volume = charge({ model: 'volume', tiers });
    it.each([
      { billable: '0', line: zeroLine('0.1') },
      // 99 × 0.1 = 9.9
      { billable: '99', line: { tier: 1, units: '99', unitPrice: '0.1', flatPrice: '0', amount: '9.9' } },
      // exactly upTo 100 stays in tier 1: 100 × 0.1 = 10
      { billable: '100', line: { tier: 1, units: '100', unitPrice: '0.1', flatPrice: '0', amount: '10' } },
      // 100.0001 × 0.08 + 5 = 8.000008 + 5 = 13.000008
      {
        billable: '100.0001',
        line: { tier: 2, units: '100.0001', unitPrice: '0.08', flatPrice: '5', amount: '13.000008' },
      },
      // 101 × 0.08 + 5 = 8.08 + 5 = 13.08
      { billable: '101', line: { tier: 2, units: '101', unitPrice: '0.08', flatPrice: '5', amount: '13.08' } },
      // 999 × 0.08 + 5 = 79.92 + 5 = 84.92
      { billable: '999', line: { tier: 2, units: '999', unitPrice: '0.08', flatPrice: '5', amount: '84.92' } },
      // 1000 × 0.08 + 5 = 80 + 5 = 85
      { billable: '1000', line: { tier: 2, units: '1000', unitPrice: '0.08', flatPrice: '5', amount: '85' } },
      // 1001 × 0.05 = 50.05 (cheaper than 1000 units: that is what volume pricing does)
      { billable: '1001', line: { tier: 3, units: '1001', unitPrice: '0.05', flatPrice: '0', amount: '50.05' } },
    ])('$billable billable units', ({ billable, line }) =>
      expect(priced(rateCharge(volume, billable, null))).toEqual([line]),
    );

    it('picks the tier from the billable quantity, after the allowance', () =>
      // 1100 − 100 free = 1000 billable: tier 2, 1000 × 0.08 + 5 = 85
      expect(priced(rateCharge({ ...volume, allowance: '100' }, '1100', null))).toEqual([
        { tier: 2, units: '1000', unitPrice: '0.08', flatPrice: '5', amount: '85' },
      ]));
  });

  describe('package: started packages are paid in full', () => {
    const packaged = charge({ model: 'package', packageSize: '1000', packagePrice: '2' });
    it.each([
      { billable: '0', line: zeroLine('2') },
      // ceil(1 / 1000) = 1 × 2 = 2
      { billable: '1', line: { tier: null, units: '1', unitPrice: '2', flatPrice: '0', amount: '2' } },
      { billable: '999', line: { tier: null, units: '1', unitPrice: '2', flatPrice: '0', amount: '2' } },
      // exactly one package
      { billable: '1000', line: { tier: null, units: '1', unitPrice: '2', flatPrice: '0', amount: '2' } },
      // one over: ceil(1001 / 1000) = 2 × 2 = 4
      { billable: '1001', line: { tier: null, units: '2', unitPrice: '2', flatPrice: '0', amount: '4' } },
      // exactly two
      { billable: '2000', line: { tier: null, units: '2', unitPrice: '2', flatPrice: '0', amount: '4' } },
      // ceil(2000.001 / 1000) = 3 × 2 = 6
      { billable: '2000.001', line: { tier: null, units: '3', unitPrice: '2', flatPrice: '0', amount: '6' } },
    ])('$billable billable units', ({ billable, line }) =>
      expect(priced(rateCharge(packaged, billable, null))).toEqual([line]),
    );

    it.each([
      // 0.9 / 0.3 = 3 exactly (in floats 0.9 / 0.3 = 3.0000000000000004, ceil 4)
      { billable: '0.9', packages: '3' },
      // a hair over 3 packages: 4
      { billable: '0.90000000000000000000001', packages: '4' },
    ])('decimal package size 0.3: $billable → $packages packages', ({ billable, packages }) =>
      expect(
        rateCharge(charge({ model: 'package', packageSize: '0.3', packagePrice: '1' }), billable, null)[0].units,
      ).toBe(packages),
    );
  });
});

describe('prices per N units (unitPricePer)', () => {
  it('rates 1.929 per million requests exactly and shows the price as such on the line', () =>
    // 3,500,000 − 100,000 free = 3,400,000 requests × 1.929 ÷ 1,000,000 = 6.5586
    expect(
      rateCharge(charge({ allowance: '100000', unitPrice: '1.929', unitPricePer: '1000000' }), '3500000', null),
    ).toEqual([
      {
        meter: 'api-calls',
        model: 'unit',
        per: null,
        perValue: null,
        quantity: '3500000',
        allowanceApplied: '100000',
        tier: null,
        units: '3400000',
        unitPrice: '0.000001929',
        quotedPrice: { price: '1.929', per: '1000000' },
        flatPrice: '0',
        amount: '6.5586',
      },
    ]));

  it('keeps a fraction of the N units exact: 1 request at 0.001353 per thousand is 0.000001353', () =>
    expect(rateCharge(charge({ unitPrice: '0.001353', unitPricePer: '1000' }), '1', null).map((l) => l.amount)).toEqual(
      ['0.000001353'],
    ));

  it('applies to every tier of a graduated charge; flat prices are not divided', () =>
    // tier 1: 100 × 0.1 ÷ 1000 = 0.01; tier 2: 900 × 0.08 ÷ 1000 + 5 = 5.072; tier 3: 500 × 0.05 ÷ 1000 = 0.025
    expect(
      priced(rateCharge(charge({ model: 'graduated', tiers, unitPricePer: '1000' }), '1500', null)).map(
        (l) => l.amount,
      ),
    ).toEqual(['0.01', '5.072', '0.025']));
});

describe('rateUsage', () => {
  // Atlassian Forge's published pricing: functions 200,000 GB-s free then 0.000025 / GB-s; KVS reads 0.1 GB free
  // then 0.055 / GB; KVS writes 0.1 GB free then 1.09 / GB; logs 1 GB free then 1.005 / GB; free tier per app.
  const forge: Charge[] = [
    charge({ meter: 'forge-functions', per: 'app', allowance: '200000', unitPrice: '0.000025' }),
    charge({ meter: 'forge-kvs-reads', per: 'app', allowance: '0.1', unitPrice: '0.055' }),
    charge({ meter: 'forge-kvs-writes', per: 'app', allowance: '0.1', unitPrice: '1.09' }),
    charge({ meter: 'forge-logs', per: 'app', allowance: '1', unitPrice: '1.005' }),
  ];

  it('GOLDEN: rates Forge’s worked example to the published amounts', () => {
    const lines = rateUsage(forge, [
      { meter: 'forge-functions', perValue: 'app-1', quantity: '250000' },
      { meter: 'forge-kvs-reads', perValue: 'app-1', quantity: '0.15' },
    ]);
    expect(
      lines.map(({ meter, perValue, quantity, allowanceApplied, units, amount }) => ({
        meter,
        perValue,
        quantity,
        allowanceApplied,
        units,
        amount,
      })),
    ).toEqual([
      // 250000 − 200000 = 50000 × 0.000025 = 1.25
      {
        meter: 'forge-functions',
        perValue: 'app-1',
        quantity: '250000',
        allowanceApplied: '200000',
        units: '50000',
        amount: '1.25',
      },
      // 0.15 − 0.1 = 0.05 × 0.055 = 0.00275
      {
        meter: 'forge-kvs-reads',
        perValue: 'app-1',
        quantity: '0.15',
        allowanceApplied: '0.1',
        units: '0.05',
        amount: '0.00275',
      },
      // no usage: shown at zero
      { meter: 'forge-kvs-writes', perValue: null, quantity: '0', allowanceApplied: '0', units: '0', amount: '0' },
      { meter: 'forge-logs', perValue: null, quantity: '0', allowanceApplied: '0', units: '0', amount: '0' },
    ]);
    const amounts = lines.map((line) => line.amount);
    // 1.25 + 0.00275 = 1.25275, rounded once, half-even: 1.25
    expect(sumAmounts(amounts)).toBe('1.25275');
    expect(invoiceTotal(amounts, 'USD')).toBe('1.25');
  });

  it('gives each app its own allowance: two apps × 150000 GB-s are both free', () => {
    const lines = rateUsage(forge.slice(0, 1), [
      { meter: 'forge-functions', perValue: 'app-2', quantity: '150000' },
      { meter: 'forge-functions', perValue: 'app-1', quantity: '150000' },
    ]);
    expect(lines.map(({ perValue, amount }) => ({ perValue, amount }))).toEqual([
      { perValue: 'app-1', amount: '0' },
      { perValue: 'app-2', amount: '0' },
    ]);
    // the same 300000 GB-s on a charge for the whole subscription: 300000 − 200000 = 100000 × 0.000025 = 2.5
    const whole = rateUsage(
      [{ ...forge[0], per: null }],
      [{ meter: 'forge-functions', perValue: null, quantity: '300000' }],
    );
    expect(whole.map((line) => line.amount)).toEqual(['2.5']);
  });

  it('orders lines by charge, then group (null first), then tier, and ignores meters without a charge', () => {
    const graduated = charge({ meter: 'storage', model: 'graduated', per: 'app', tiers });
    const lines = rateUsage(
      [graduated, charge({ meter: 'calls', unitPrice: '1' })],
      [
        { meter: 'calls', perValue: null, quantity: '2' },
        { meter: 'storage', perValue: 'b', quantity: '150' },
        { meter: 'unpriced', perValue: null, quantity: '99' },
        { meter: 'storage', perValue: null, quantity: '5' },
        { meter: 'storage', perValue: 'a', quantity: '1' },
      ],
    );
    expect(lines.map(({ meter, perValue, tier }) => [meter, perValue, tier])).toEqual([
      ['storage', null, 1],
      ['storage', 'a', 1],
      ['storage', 'b', 1],
      ['storage', 'b', 2],
      ['calls', null, null],
    ]);
  });

  it('refuses two rows for one group: each would get the allowance again', () =>
    expect(() =>
      rateUsage(forge.slice(0, 1), [
        { meter: 'forge-functions', perValue: 'app-1', quantity: '150000' },
        { meter: 'forge-functions', perValue: 'app-1', quantity: '150000' },
      ]),
    ).toThrow(/two rows for perValue app-1/));

  it('refuses grouped rows for a charge on the whole subscription', () =>
    expect(() =>
      rateUsage([charge({ unitPrice: '1' })], [{ meter: 'api-calls', perValue: 'app-1', quantity: '1' }]),
    ).toThrow(/whole subscription/));
});
