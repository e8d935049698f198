import { useId, useState, type FormEvent } from 'react';
import { breakdowns, type AccountFilters } from '../account-filters';

const attributeNames = ['app', 'environment', 'site'];

/**
 * The account page's filters: billing period, breakdown, attribute filters and one meter. Choices apply at once;
 * attribute values apply with Enter or "Apply". The page keeps them in the address (onChange → the URL).
 * Give it `key={the address's query}` so a new address (back, a drill-down link) refills it.
 */
export const FilterBar = ({
  filters,
  periods,
  meters,
  onChange,
}: {
  filters: AccountFilters;
  /** newest first; the first is the current period */
  periods: readonly string[];
  meters: readonly { slug: string; name: string }[];
  onChange: (filters: AccountFilters) => void;
}) => {
  const id = useId();
  const names = [...new Set([...attributeNames, ...Object.keys(filters.attributes)])];
  const [values, setValues] = useState<Record<string, string>>(filters.attributes);
  const shownPeriods = filters.period && !periods.includes(filters.period) ? [filters.period, ...periods] : periods;
  const apply = (event: FormEvent) => {
    event.preventDefault();
    const attributes = Object.fromEntries(
      Object.entries(values)
        .map(([name, value]) => [name, value.trim()])
        .filter(([, value]) => value),
    );
    onChange({ ...filters, attributes });
  };
  return (
    <form className="filters" onSubmit={apply} aria-label="Usage filters">
      <div>
        <label htmlFor={`${id}-period`}>Billing period</label>
        <select
          id={`${id}-period`}
          value={filters.period ?? periods[0] ?? ''}
          onChange={(e) => onChange({ ...filters, period: e.target.value === periods[0] ? undefined : e.target.value })}
        >
          {shownPeriods.map((period, i) => (
            <option key={period} value={period}>
              {period}
              {period === periods[0] && i === shownPeriods.indexOf(periods[0]) ? ' (current)' : ''}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={`${id}-breakdown`}>Break down by</label>
        <select
          id={`${id}-breakdown`}
          value={filters.breakdownBy ?? ''}
          onChange={(e) => onChange({ ...filters, breakdownBy: e.target.value || undefined })}
        >
          <option value="">app and environment</option>
          {[...new Set([...breakdowns, ...(filters.breakdownBy ? [filters.breakdownBy] : [])])].map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor={`${id}-window`}>Charts by</label>
        <select
          id={`${id}-window`}
          value={filters.window ?? 'day'}
          onChange={(e) => onChange({ ...filters, window: e.target.value === 'hour' ? 'hour' : undefined })}
        >
          <option value="day">day</option>
          <option value="hour">hour</option>
        </select>
      </div>
      <div>
        <label htmlFor={`${id}-meter`}>Meter</label>
        <select
          id={`${id}-meter`}
          value={filters.meter ?? ''}
          onChange={(e) => onChange({ ...filters, meter: e.target.value || undefined })}
        >
          <option value="">every meter</option>
          {[
            ...meters,
            ...(filters.meter && !meters.some((m) => m.slug === filters.meter)
              ? [{ slug: filters.meter, name: filters.meter }]
              : []),
          ].map((meter) => (
            <option key={meter.slug} value={meter.slug}>
              {meter.name}
            </option>
          ))}
        </select>
      </div>
      {names.map((name) => (
        <div key={name}>
          <label htmlFor={`${id}-attr-${name}`}>Only {name}</label>
          <input
            id={`${id}-attr-${name}`}
            size={12}
            value={values[name] ?? ''}
            onChange={(e) => setValues({ ...values, [name]: e.target.value })}
          />
        </div>
      ))}
      <div className="filter-actions">
        <button type="submit">Apply</button>
        <button type="button" className="quiet" onClick={() => onChange({ attributes: {} })}>
          Clear filters
        </button>
      </div>
    </form>
  );
};
