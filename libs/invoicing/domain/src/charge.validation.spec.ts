import { describe, expect, it } from 'vitest';
import type { FieldError } from './charge';
import { validateCharges } from './charge.validation';

const unit = { meter: 'gb-seconds', model: 'unit', unitPrice: '0.000025' };
const tiers = [
  { upTo: '100', unitPrice: '0.10' },
  { upTo: '1000', unitPrice: '0.08', flatPrice: '5.00' },
  { upTo: null, unitPrice: '0.05' },
];
const graduated = { meter: 'storage', model: 'graduated', tiers };
const packaged = { meter: 'emails', model: 'package', packageSize: '1000', packagePrice: '2' };

const errorsOf = (input: unknown): FieldError[] => {
  const result = validateCharges(input);
  return result.ok ? [] : result.errors;
};
const fieldsOf = (input: unknown): string[] => errorsOf(input).map((error) => error.field);

describe('validateCharges', () => {
  describe('accepts', () => {
    it('an empty plan', () => expect(validateCharges([])).toEqual({ ok: true, charges: [] }));

    it('a unit charge, filling the defaults', () =>
      expect(validateCharges([unit])).toEqual({
        ok: true,
        charges: [
          {
            meter: 'gb-seconds',
            model: 'unit',
            per: null,
            allowance: '0',
            unitPrice: '0.000025',
            tiers: null,
            packageSize: null,
            packagePrice: null,
            description: null,
          },
        ],
      }));

    it('tiered charges, with canonical decimals and flatPrice defaulting to 0', () => {
      const result = validateCharges([
        { ...graduated, per: 'app', allowance: '0100.50', description: 'Storage' },
        { ...graduated, meter: 'rows', model: 'volume' },
      ]);
      const expectedTiers = [
        { upTo: '100', unitPrice: '0.1', flatPrice: '0' },
        { upTo: '1000', unitPrice: '0.08', flatPrice: '5' },
        { upTo: null, unitPrice: '0.05', flatPrice: '0' },
      ];
      expect(result).toEqual({
        ok: true,
        charges: [
          {
            meter: 'storage',
            model: 'graduated',
            per: 'app',
            allowance: '100.5',
            unitPrice: null,
            tiers: expectedTiers,
            packageSize: null,
            packagePrice: null,
            description: 'Storage',
          },
          {
            meter: 'rows',
            model: 'volume',
            per: null,
            allowance: '0',
            unitPrice: null,
            tiers: expectedTiers,
            packageSize: null,
            packagePrice: null,
            description: null,
          },
        ],
      });
    });

    it('a package charge, a decimal such as ".5", and an omitted upTo on the last tier', () => {
      const result = validateCharges([
        { ...packaged, packageSize: '.5', allowance: '10.' },
        { meter: 'one-tier', model: 'volume', tiers: [{ unitPrice: '1' }] },
      ]);
      expect(
        result.ok && result.charges.map(({ packageSize, allowance, tiers }) => ({ packageSize, allowance, tiers })),
      ).toEqual([
        { packageSize: '0.5', allowance: '10', tiers: null },
        { packageSize: null, allowance: '0', tiers: [{ upTo: null, unitPrice: '1', flatPrice: '0' }] },
      ]);
    });

    it('its own output again (unused fields spelled out as null are not foreign fields)', () => {
      const first = validateCharges([unit, graduated, packaged]);
      expect(first.ok && validateCharges(first.charges)).toEqual(first);
    });
  });

  describe('unitPricePer', () => {
    it('keeps a power of ten, and leaves 1 out (a charge per unit reads as before)', () => {
      const result = validateCharges([
        { ...unit, unitPricePer: '1000000' },
        { ...graduated, unitPricePer: '1' },
      ]);
      expect(result.ok && result.charges.map((c) => c.unitPricePer)).toEqual(['1000000', undefined]);
    });

    it.each(['3', '0', '1e6', '1000.0', '', 1000])('refuses %j: a price per N units needs N a power of ten', (n) =>
      expect(errorsOf([{ ...unit, unitPricePer: n }]).map((e) => e.field)).toEqual(['charges[0].unitPricePer']),
    );

    it('refuses it on a package charge (packageSize says how many units a price is for)', () =>
      expect(fieldsOf([{ ...packaged, unitPricePer: '1000' }])).toEqual(['charges[0].unitPricePer']));
  });

  describe('refuses', () => {
    it.each([
      ['not an array', { charges: [] }, 'charges'],
      ['a charge that is not an object', [null], 'charges[0]'],
      ['a missing meter', [{ model: 'unit', unitPrice: '1' }], 'charges[0].meter'],
      ['an empty meter', [{ ...unit, meter: '' }], 'charges[0].meter'],
      ['a meter with spaces', [{ ...unit, meter: 'gb seconds' }], 'charges[0].meter'],
      ['a price longer than 40 characters', [{ ...unit, unitPrice: `0.${'1'.repeat(40)}` }], 'charges[0].unitPrice'],
      ['a meter starting with -', [{ ...unit, meter: '-gb' }], 'charges[0].meter'],
      ['a meter of 64 characters', [{ ...unit, meter: 'm'.repeat(64) }], 'charges[0].meter'],
      ['an unknown model', [{ ...unit, model: 'tiered' }], 'charges[0].model'],
      ['an empty per', [{ ...unit, per: ' ' }], 'charges[0].per'],
      ['a per of 65 characters', [{ ...unit, per: 'p'.repeat(65) }], 'charges[0].per'],
      ['a description of 201 characters', [{ ...unit, description: 'd'.repeat(201) }], 'charges[0].description'],
      ['a description that is not a string', [{ ...unit, description: 5 }], 'charges[0].description'],
      ['an unknown field', [{ ...unit, currency: 'USD' }], 'charges[0].currency'],
      ['a negative allowance', [{ ...unit, allowance: '-1' }], 'charges[0].allowance'],
      ['an allowance in exponent form', [{ ...unit, allowance: '1e3' }], 'charges[0].allowance'],
      ['a unit charge without unitPrice', [{ meter: 'm', model: 'unit' }], 'charges[0].unitPrice'],
      ['a unitPrice that is not a decimal', [{ ...unit, unitPrice: 'free' }], 'charges[0].unitPrice'],
      ['tiers on a unit charge', [{ ...unit, tiers }], 'charges[0].tiers'],
      ['a packageSize on a unit charge', [{ ...unit, packageSize: '10' }], 'charges[0].packageSize'],
      ['a unitPrice on a graduated charge', [{ ...graduated, unitPrice: '1' }], 'charges[0].unitPrice'],
      [
        'a packagePrice on a volume charge',
        [{ ...graduated, model: 'volume', packagePrice: '1' }],
        'charges[0].packagePrice',
      ],
      ['tiers on a package charge', [{ ...packaged, tiers }], 'charges[0].tiers'],
      ['a graduated charge without tiers', [{ meter: 'm', model: 'graduated' }], 'charges[0].tiers'],
      ['a volume charge with no tiers', [{ meter: 'm', model: 'volume', tiers: [] }], 'charges[0].tiers'],
      ['a tier that is not an object', [{ ...graduated, tiers: ['0.1'] }], 'charges[0].tiers[0]'],
      [
        'a tier without unitPrice',
        [{ ...graduated, tiers: [{ upTo: '10', unitPrice: '1' }, { upTo: null }] }],
        'charges[0].tiers[1].unitPrice',
      ],
      [
        'an unknown tier field',
        [{ ...graduated, tiers: [{ upTo: null, unitPrice: '1', from: '0' }] }],
        'charges[0].tiers[0].from',
      ],
      [
        'a negative flatPrice',
        [{ ...graduated, tiers: [{ upTo: null, unitPrice: '1', flatPrice: '-1' }] }],
        'charges[0].tiers[0].flatPrice',
      ],
      [
        'an upTo of 0',
        [
          {
            ...graduated,
            tiers: [
              { upTo: '0', unitPrice: '1' },
              { upTo: null, unitPrice: '1' },
            ],
          },
        ],
        'charges[0].tiers[0].upTo',
      ],
      [
        'an upTo equal to the one before',
        [
          {
            ...graduated,
            tiers: [
              { upTo: '10', unitPrice: '1' },
              { upTo: '10.0', unitPrice: '1' },
              { upTo: null, unitPrice: '1' },
            ],
          },
        ],
        'charges[0].tiers[1].upTo',
      ],
      [
        'an upTo below the one before',
        [
          {
            ...graduated,
            tiers: [
              { upTo: '10', unitPrice: '1' },
              { upTo: '9', unitPrice: '1' },
              { upTo: null, unitPrice: '1' },
            ],
          },
        ],
        'charges[0].tiers[1].upTo',
      ],
      [
        'a bounded last tier',
        [
          {
            ...graduated,
            tiers: [
              { upTo: '10', unitPrice: '1' },
              { upTo: '20', unitPrice: '1' },
            ],
          },
        ],
        'charges[0].tiers[1].upTo',
      ],
      [
        'an unbounded tier before the last',
        [
          {
            ...graduated,
            tiers: [
              { upTo: null, unitPrice: '1' },
              { upTo: null, unitPrice: '1' },
            ],
          },
        ],
        'charges[0].tiers[0].upTo',
      ],
      [
        'a package charge without packageSize',
        [{ meter: 'm', model: 'package', packagePrice: '1' }],
        'charges[0].packageSize',
      ],
      ['a packageSize of 0', [{ ...packaged, packageSize: '0.000' }], 'charges[0].packageSize'],
      [
        'a package charge without packagePrice',
        [{ meter: 'm', model: 'package', packageSize: '1' }],
        'charges[0].packagePrice',
      ],
    ])('%s', (_case, input, field) => expect(fieldsOf(input)).toEqual([field]));

    it.each([
      ['unitPrice', [{ ...unit, unitPrice: 0.1 }], 'charges[0].unitPrice'],
      ['allowance', [{ ...unit, allowance: 200000 }], 'charges[0].allowance'],
      [
        'upTo',
        [
          {
            ...graduated,
            tiers: [
              { upTo: 100, unitPrice: '1' },
              { upTo: null, unitPrice: '1' },
            ],
          },
        ],
        'charges[0].tiers[0].upTo',
      ],
      ['packagePrice', [{ ...packaged, packagePrice: 2 }], 'charges[0].packagePrice'],
    ])('%s as a JSON number: money never passes through a float', (_key, input, field) =>
      expect(errorsOf(input)).toEqual([{ field, message: expect.stringContaining('not a JSON number') }]),
    );

    it('a second charge on the same meter, naming the first', () =>
      expect(errorsOf([unit, packaged, { ...graduated, meter: 'gb-seconds' }])).toEqual([
        { field: 'charges[2].meter', message: 'meter gb-seconds is already charged by charges[0]' },
      ]));

    it('with a message that says which model a foreign field belongs to', () =>
      expect(errorsOf([{ ...unit, tiers }])).toEqual([
        { field: 'charges[0].tiers', message: 'tiers belongs to graduated and volume charges, not to a unit charge' },
      ]));

    it('reporting every problem, not just the first', () =>
      expect(
        fieldsOf([
          { meter: 'bad meter', model: 'unit', unitPrice: 1, extra: true },
          {
            meter: 'm',
            model: 'graduated',
            tiers: [
              { upTo: '10', unitPrice: '1' },
              { upTo: '5', unitPrice: 'x' },
              { upTo: null, unitPrice: '1' },
            ],
          },
        ]),
      ).toEqual([
        'charges[0].extra',
        'charges[0].meter',
        'charges[0].unitPrice',
        'charges[1].tiers[1].upTo',
        'charges[1].tiers[1].unitPrice',
      ]));
  });
});
