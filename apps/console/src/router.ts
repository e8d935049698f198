import { useSyncExternalStore } from 'react';
import { filtersOf, searchOf, type AccountFilters } from './account-filters';

/** The console's screens, by URL: the account id and the period live in the address, so a view can be bookmarked. */
export type Route =
  | { screen: 'sign-in'; next?: string }
  | { screen: 'overview' }
  | { screen: 'accounts'; query: PageQuery & { search?: string } }
  | { screen: 'account'; accountId: string; filters: AccountFilters }
  | { screen: 'invoice'; invoiceId: string }
  | { screen: 'catalog'; query: PageQuery }
  | { screen: 'plan'; planId: string }
  | { screen: 'reconciliation'; reconciliationId?: string; query: PageQuery }
  | { screen: 'parked' }
  | { screen: 'event'; source?: string; id?: string }
  | { screen: 'not-found' };

/**
 * A list's page as its API asks for it (`after` or `before`: the previous answer's `next`), kept in the address so a
 * page of a list can be bookmarked; `limit` only when the address names one (the API's default otherwise).
 */
export interface PageQuery {
  limit?: string;
  after?: string;
  before?: string;
}

/** The page query of an address: only the keys that are there and not blank. */
const pageQueryOf = (query: URLSearchParams, keys: readonly string[]): Record<string, string> =>
  Object.fromEntries(keys.flatMap((key) => (query.get(key)?.trim() ? [[key, query.get(key)?.trim() ?? '']] : [])));

/** `?key=value…` of the keys with a value, in the order given; '' when none. */
const searchOfQuery = (query: Record<string, string | undefined>) => {
  const present = Object.entries(query).filter((entry): entry is [string, string] => !!entry[1]);
  return present.length ? `?${new URLSearchParams(present)}` : '';
};

/**
 * Paths the platform answers with index.html (apps/platform serves the same list: see console-site.ts in
 * libs/shared/feature-runtime); everything else under `/` is the API's.
 */
export const routeOf = (location: { pathname: string; search: string }): Route => {
  const { pathname } = location;
  const query = new URLSearchParams(location.search);
  if (pathname === '/') return { screen: 'overview' };
  if (pathname === '/sign-in') {
    const next = query.get('next') ?? undefined;
    // Only a path of this console (not `//elsewhere`, not sign-in itself) is a place to return to.
    const local = next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in');
    return { screen: 'sign-in', next: local ? next : undefined };
  }
  if (pathname === parkedPath) return { screen: 'parked' };
  if (pathname === '/events')
    return { screen: 'event', source: query.get('source') ?? undefined, id: query.get('id') ?? undefined };
  if (pathname === accountsPath())
    return { screen: 'accounts', query: pageQueryOf(query, ['search', 'limit', 'after']) };
  if (pathname === catalogPath) return { screen: 'catalog', query: pageQueryOf(query, ['limit', 'after']) };
  if (pathname === reconciliationsPath)
    return { screen: 'reconciliation', query: pageQueryOf(query, ['limit', 'before']) };
  const [, section, id] = /^\/([a-z]+)\/([^/]+)$/.exec(pathname) ?? [];
  if (!id) return { screen: 'not-found' };
  const key = decodeURIComponent(id);
  switch (section) {
    case 'accounts':
      return { screen: 'account', accountId: key, filters: filtersOf(location.search) };
    case 'invoices':
      return { screen: 'invoice', invoiceId: key };
    case 'plans':
      return { screen: 'plan', planId: key };
    case 'reconciliations':
      return { screen: 'reconciliation', reconciliationId: key, query: {} };
    default:
      return { screen: 'not-found' };
  }
};

export const parkedPath = '/parked';
export const eventPath = (source?: string, id?: string) =>
  source && id ? `/events?${new URLSearchParams({ source, id })}` : '/events';
/** The accounts whose id or name holds `search` (all without one), a page of them: a bookmarkable search. */
export const accountsPath = (query: PageQuery & { search?: string } = {}) =>
  `/accounts${searchOfQuery({ search: query.search, limit: query.limit, after: query.after })}`;
/** An account's page, with the filters of its view (a bookmark, or an invoice line's drill-down). */
export const accountPath = (accountId: string, filters?: AccountFilters) =>
  `/accounts/${encodeURIComponent(accountId)}${filters ? searchOf(filters) : ''}`;
export const invoicePath = (invoiceId: string) => `/invoices/${encodeURIComponent(invoiceId)}`;
export const catalogPath = '/catalog';
/** The catalog with a page of the plans. */
export const catalogPagePath = (query: PageQuery = {}) =>
  `${catalogPath}${searchOfQuery({ limit: query.limit, after: query.after })}`;
export const planPath = (planId: string) => `/plans/${encodeURIComponent(planId)}`;
export const reconciliationsPath = '/reconciliations';
/** The reconciliations, newest first, a page of them. */
export const reconciliationsPagePath = (query: PageQuery = {}) =>
  `${reconciliationsPath}${searchOfQuery({ limit: query.limit, before: query.before })}`;
export const reconciliationPath = (id: string) => `${reconciliationsPath}/${encodeURIComponent(id)}`;
export const signInPath = (next?: string) => (next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in');

const changed = 'tally:navigate';

/** Moves to a path of the console without reloading the page. */
export const navigate = (path: string, options: { replace?: boolean } = {}) => {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.dispatchEvent(new Event(changed));
};

const subscribe = (onChange: () => void) => {
  window.addEventListener('popstate', onChange);
  window.addEventListener(changed, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(changed, onChange);
  };
};

/** The current route; re-renders on navigate() and on the browser's back and forward. */
export const useRoute = (): Route => {
  const href = useSyncExternalStore(subscribe, () => location.pathname + location.search);
  const url = new URL(href, location.origin);
  return routeOf(url);
};
