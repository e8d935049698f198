import { useSyncExternalStore } from 'react';
import { filtersOf, searchOf, type AccountFilters } from './account-filters';

/** The console's screens, by URL: the account id and the period live in the address, so a view can be bookmarked. */
export type Route =
  | { screen: 'sign-in'; next?: string }
  | { screen: 'overview' }
  | { screen: 'account'; accountId: string; filters: AccountFilters }
  | { screen: 'invoice'; invoiceId: string }
  | { screen: 'catalog' }
  | { screen: 'plan'; planId: string }
  | { screen: 'reconciliation'; reconciliationId?: string }
  | { screen: 'parked' }
  | { screen: 'event'; source?: string; id?: string }
  | { screen: 'not-found' };

/**
 * Paths the platform answers with index.html (apps/platform serves the same list: see console-site.ts in
 * libs/shared/feature-runtime); everything else under `/` is the API's.
 */
export const routeOf = (location: { pathname: string; search: string }): Route => {
  const { pathname } = location;
  if (pathname === '/') return { screen: 'overview' };
  if (pathname === '/sign-in') {
    const next = new URLSearchParams(location.search).get('next') ?? undefined;
    // Only a path of this console (not `//elsewhere`, not sign-in itself) is a place to return to.
    const local = next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/sign-in');
    return { screen: 'sign-in', next: local ? next : undefined };
  }
  if (pathname === parkedPath) return { screen: 'parked' };
  if (pathname === '/events') {
    const query = new URLSearchParams(location.search);
    return { screen: 'event', source: query.get('source') ?? undefined, id: query.get('id') ?? undefined };
  }
  if (pathname === catalogPath) return { screen: 'catalog' };
  if (pathname === reconciliationsPath) return { screen: 'reconciliation' };
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
      return { screen: 'reconciliation', reconciliationId: key };
    default:
      return { screen: 'not-found' };
  }
};

export const parkedPath = '/parked';
export const eventPath = (source?: string, id?: string) =>
  source && id ? `/events?${new URLSearchParams({ source, id })}` : '/events';
/** An account's page, with the filters of its view (a bookmark, or an invoice line's drill-down). */
export const accountPath = (accountId: string, filters?: AccountFilters) =>
  `/accounts/${encodeURIComponent(accountId)}${filters ? searchOf(filters) : ''}`;
export const invoicePath = (invoiceId: string) => `/invoices/${encodeURIComponent(invoiceId)}`;
export const catalogPath = '/catalog';
export const planPath = (planId: string) => `/plans/${encodeURIComponent(planId)}`;
export const reconciliationsPath = '/reconciliations';
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
