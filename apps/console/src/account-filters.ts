/**
 * The account page's filters, kept in its address so a view can be bookmarked and shared:
 * `?period=2026-11&breakdownBy=app&filterAttribute[app]=app-1&meter=forge-functions&window=hour`. The first three
 * are the query of GET /v1/accounts/{id}/usage as they are; `meter` focuses the page on one meter; `window` is
 * the charts' window (the query's windowSize: days unless hours are asked).
 */
export interface AccountFilters {
  /** A billing period (YYYY-MM); absent: the current one. */
  period?: string;
  /** One subject attribute to break usage down by; absent: the API's default (app and environment). */
  breakdownBy?: string;
  /** Only usage of subjects whose attribute has that value, e.g. { app: 'app-1' }. */
  attributes: Record<string, string>;
  /** One meter's slug: only it is shown. */
  meter?: string;
  /** The charts' windows: hours, or days (absent). */
  window?: 'hour' | 'day';
}

/** The breakdowns offered: Forge's by app, by environment and by site. */
export const breakdowns = ['app', 'environment', 'site'] as const;

const windowOf = (text: string | null): AccountFilters['window'] =>
  text === 'hour' || text === 'day' ? text : undefined;

/** The usage query's windowSize for the filters: days unless hours are asked. */
export const windowSizeOf = (filters: AccountFilters): 'HOUR' | 'DAY' => (filters.window === 'hour' ? 'HOUR' : 'DAY');

const attributeKey = /^filterAttribute\[(.+)\]$/;

export const filtersOf = (search: string | URLSearchParams): AccountFilters => {
  const query = new URLSearchParams(search);
  const attributes: Record<string, string> = {};
  for (const [key, value] of query) {
    const name = attributeKey.exec(key)?.[1];
    if (name && value) attributes[name] = value;
  }
  return {
    period: query.get('period') || undefined,
    breakdownBy: query.get('breakdownBy') || undefined,
    attributes,
    meter: query.get('meter') || undefined,
    window: windowOf(query.get('window')),
  };
};

/** The usage query the filters ask (period, breakdownBy, filterAttribute[name]); `meter` stays the page's. */
export const usageQueryOf = (filters: AccountFilters): Record<string, string> => ({
  ...(filters.period && { period: filters.period }),
  ...(filters.breakdownBy && { breakdownBy: filters.breakdownBy }),
  ...Object.fromEntries(Object.entries(filters.attributes).map(([name, value]) => [`filterAttribute[${name}]`, value])),
});

/** The address's query for the filters ('' when none), brackets kept readable: `filterAttribute[app]=app-1`. */
export const searchOf = (filters: AccountFilters): string => {
  const query = new URLSearchParams({
    ...usageQueryOf(filters),
    ...(filters.meter && { meter: filters.meter }),
    ...(filters.window && { window: filters.window }),
  });
  const text = query.toString().replaceAll('%5B', '[').replaceAll('%5D', ']');
  return text ? `?${text}` : '';
};

export const noFilters: AccountFilters = { attributes: {} };
