import { useEffect, useMemo } from 'react';
import { consoleClient } from './api';
import { Layout } from './components/layout';
import { navigate, type Route, signInPath, useRoute } from './router';
import { AccountScreen } from './screens/account.screen';
import { AccountsScreen } from './screens/accounts.screen';
import { CatalogScreen } from './screens/catalog.screen';
import { InvoiceScreen } from './screens/invoice.screen';
import { PlanScreen } from './screens/plan.screen';
import { ReconciliationScreen } from './screens/reconciliation.screen';
import { NotFoundScreen } from './screens/not-found.screen';
import { OverviewScreen } from './screens/overview.screen';
import { ParkedScreen } from './screens/parked.screen';
import { EventScreen } from './screens/event.screen';
import { SignInScreen } from './screens/sign-in.screen';
import { session } from './session';

/** Picks the screen for the address; every screen but sign-in needs a credential of this session. */
export const App = () => {
  const route = useRoute();
  const token = session.token();
  const client = useMemo(() => (token ? consoleClient(token) : undefined), [token]);
  const signedOut = route.screen !== 'sign-in' && !client;

  useEffect(() => {
    // Once only: the effect may run again (StrictMode) after the address is sign-in's already.
    if (signedOut && location.pathname !== '/sign-in')
      navigate(signInPath(location.pathname + location.search), { replace: true });
  }, [signedOut]);

  useEffect(() => {
    document.title = `${titles[route.screen]} · Tally Console`;
  }, [route.screen]);

  if (route.screen === 'sign-in') return <SignInScreen next={route.next} />;
  if (!client) return null;
  return (
    <Layout current={route.screen}>
      {route.screen === 'overview' && <OverviewScreen client={client} />}
      {route.screen === 'accounts' && <AccountsScreen client={client} query={route.query} />}
      {route.screen === 'account' && (
        <AccountScreen client={client} accountId={route.accountId} filters={route.filters} />
      )}
      {route.screen === 'invoice' && <InvoiceScreen client={client} invoiceId={route.invoiceId} />}
      {route.screen === 'catalog' && <CatalogScreen client={client} query={route.query} />}
      {route.screen === 'plan' && <PlanScreen client={client} planId={route.planId} />}
      {route.screen === 'reconciliation' && (
        <ReconciliationScreen client={client} reconciliationId={route.reconciliationId} query={route.query} />
      )}
      {route.screen === 'parked' && <ParkedScreen client={client} />}
      {route.screen === 'event' && <EventScreen client={client} source={route.source} id={route.id} />}
      {route.screen === 'not-found' && <NotFoundScreen />}
    </Layout>
  );
};

const titles: Record<Route['screen'], string> = {
  'sign-in': 'Sign in',
  overview: 'Overview',
  accounts: 'Accounts',
  account: 'Account',
  invoice: 'Invoice',
  catalog: 'Catalog',
  plan: 'Plan',
  reconciliation: 'Reconciliation',
  parked: 'Parked usage',
  event: 'Event lookup',
  'not-found': 'Not found',
};
