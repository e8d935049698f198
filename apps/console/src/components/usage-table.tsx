import type { components } from '@tally/client/http';
import { formatQuantity } from '../format';

export type MeterUsage = components['schemas']['AccountUsage']['meters'][number];

/** A breakdown row's label: its attribute values (app, environment…), "—" for subjects without one. */
export const breakdownLabel = (row: Record<string, string | null>) =>
  Object.entries(row)
    .filter(([key]) => key !== 'value')
    .map(([, value]) => value ?? '—')
    .join(' · ');

/** Each meter with usage this period, its exact total, and the total split by the breakdown's attributes. */
export const UsageTable = ({
  meters,
  breakdownBy = ['app', 'environment'],
  locale,
}: {
  meters: readonly MeterUsage[];
  breakdownBy?: readonly string[];
  locale?: string;
}) => {
  const measured = meters.filter((m) => m.total !== null);
  const idle = meters.length - measured.length;
  if (measured.length === 0) return <p>No usage this period yet.</p>;
  return (
    <>
      <table className="usage">
        <thead>
          <tr>
            <th scope="col">Meter</th>
            <th scope="col">By {breakdownBy.join(' · ')}</th>
            <th scope="col" className="number">
              Usage
            </th>
          </tr>
        </thead>
        {measured.map((meter) => (
          <tbody key={meter.slug} data-meter={meter.slug}>
            <tr className="meter-total">
              <th scope="rowgroup" rowSpan={meter.breakdown.length + 1}>
                {meter.name}
                <div className="hint">
                  <code>{meter.slug}</code> · {meter.aggregation.toLowerCase()}
                </div>
              </th>
              <td>Total</td>
              <td className="number" data-testid="meter-total">
                {formatQuantity(meter.total as string, locale)}
              </td>
            </tr>
            {meter.breakdown.map((row) => (
              <tr key={breakdownLabel(row)}>
                <td>{breakdownLabel(row)}</td>
                <td className="number">{row.value === null ? '—' : formatQuantity(row.value, locale)}</td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
      {idle > 0 && <p className="hint">{idle} more meters have no usage this period.</p>}
    </>
  );
};
