import { describe, expect, it } from 'vitest';
import type { components } from '@tally/client/http';
import { render, texts } from '../test-render';
import { PriceTable } from './price-table';

type Charge = components['schemas']['Charge'];
const base: Charge = {
  meter: 'forge-sql-requests',
  model: 'unit',
  per: 'app',
  allowance: '100000',
  unitPrice: '1.929',
  unitPricePer: '1000000',
  tiers: null,
  packagePrice: null,
  packageSize: null,
  description: null,
};

describe('PriceTable', () => {
  it('quotes a unit price per million as the plan does, with the free allowance per app', () => {
    const page = render(<PriceTable charge={base} currency="USD" />);
    expect(texts(page, '[data-testid=charge-price]')).toEqual(['1.929 USD per 1,000,000']);
    expect(texts(page, '[data-testid=charge-allowance]')).toEqual(['100,000 free per app, each billing period']);
  });

  it('lists tiers with up to, unit price and flat price', () => {
    const page = render(
      <PriceTable
        charge={{
          ...base,
          model: 'graduated',
          unitPrice: null,
          unitPricePer: undefined,
          allowance: '0',
          tiers: [
            { upTo: '1000000', unitPrice: '0.000025', flatPrice: '0' },
            { upTo: null, unitPrice: '0.00002', flatPrice: '5' },
          ],
        }}
        currency="USD"
      />,
    );
    expect(texts(page, '[data-testid=charge-allowance]')).toEqual(['none']);
    expect(texts(page, '[data-testid=charge-tier] td')).toEqual([
      '1,000,000',
      '0.000025 USD per unit',
      '0 USD',
      'and beyond',
      '0.00002 USD per unit',
      '5 USD',
    ]);
  });

  it('shows a package’s size and price', () => {
    const page = render(
      <PriceTable
        charge={{ ...base, model: 'package', unitPrice: null, packageSize: '1000', packagePrice: '2.5', per: null }}
        currency="EUR"
      />,
    );
    expect(texts(page, '[data-testid=charge-price]')).toEqual([
      '2.5 EUR per package of 1,000 (a part package is a whole one)',
    ]);
  });
});
