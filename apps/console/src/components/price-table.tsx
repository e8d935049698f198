import type { components } from '@tally/client/http';
import { formatQuantity } from '../format';

type Charge = components['schemas']['Charge'];

/** A price as the plan quotes it: "1.929 USD per 1,000,000" (unitPricePer), "0.000025 USD per unit". */
export const quotedPrice = (price: string, currency: string, per: string | undefined, locale?: string) =>
  `${formatQuantity(price, locale)} ${currency} per ${!per || per === '1' ? 'unit' : formatQuantity(per, locale)}`;

/**
 * One charge as its price table: what is free (per group), then the price — one unit price, the tiers (up to,
 * unit price, flat price), or packages (size and price). Graduated tiers price each unit in its own tier; volume
 * tiers price every unit at the tier the total reaches.
 */
export const PriceTable = ({ charge, currency, locale }: { charge: Charge; currency: string; locale?: string }) => {
  const quantity = (value: string) => formatQuantity(value, locale);
  const price = (value: string) => quotedPrice(value, currency, charge.unitPricePer, locale);
  const group = charge.per ? `per ${charge.per}` : 'for the whole subscription';
  return (
    <table className="price-table" data-testid="charge" data-meter={charge.meter}>
      <caption>
        <code>{charge.meter}</code> · {charge.model} {group}
        {charge.description && <div className="hint">{charge.description}</div>}
      </caption>
      <tbody>
        <tr>
          <th scope="row">Free allowance</th>
          <td data-testid="charge-allowance" colSpan={3}>
            {charge.allowance === '0' ? 'none' : `${quantity(charge.allowance)} free ${group}, each billing period`}
          </td>
        </tr>
        {charge.model === 'unit' && charge.unitPrice !== null && (
          <tr>
            <th scope="row">Unit price</th>
            <td data-testid="charge-price" colSpan={3}>
              {price(charge.unitPrice)}
            </td>
          </tr>
        )}
        {charge.model === 'package' && charge.packageSize !== null && charge.packagePrice !== null && (
          <tr>
            <th scope="row">Package</th>
            <td data-testid="charge-price" colSpan={3}>
              {quantity(charge.packagePrice)} {currency} per package of {quantity(charge.packageSize)} (a part package
              is a whole one)
            </td>
          </tr>
        )}
      </tbody>
      {charge.tiers && (
        <tbody>
          <tr>
            <th scope="col">
              Tier ({charge.model === 'graduated' ? 'each unit in its tier' : 'all units at the tier reached'})
            </th>
            <th scope="col" className="number">
              Up to
            </th>
            <th scope="col" className="number">
              Unit price
            </th>
            <th scope="col" className="number">
              Flat price
            </th>
          </tr>
          {charge.tiers.map((tier, i) => (
            <tr key={i} data-testid="charge-tier">
              <th scope="row">{i + 1}</th>
              <td className="number">{tier.upTo === null ? 'and beyond' : quantity(tier.upTo)}</td>
              <td className="number">{price(tier.unitPrice)}</td>
              <td className="number">
                {quantity(tier.flatPrice)} {currency}
              </td>
            </tr>
          ))}
        </tbody>
      )}
    </table>
  );
};
