import type { ReactNode } from 'react';
import { accountsPath, catalogPath, eventPath, navigate, parkedPath, reconciliationsPath } from '../router';
import { session } from '../session';
import { ErrorBoundary } from './error-boundary';
import { Link } from './link';

/** The frame of every signed-in screen: a skip link, the navigation, sign-out, and the screen as <main>. */
export const Layout = ({ current, children }: { current: string; children: ReactNode }) => {
  const signOut = () => {
    session.signOut();
    navigate('/sign-in');
  };
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top-bar">
        <span className="brand">Tally Console</span>
        <nav aria-label="Main">
          <Link href="/" aria-current={current === 'overview' ? 'page' : undefined}>
            Overview
          </Link>
          <Link
            href={accountsPath()}
            aria-current={current === 'accounts' || current === 'account' ? 'page' : undefined}
          >
            Accounts
          </Link>
          <Link href={parkedPath} aria-current={current === 'parked' ? 'page' : undefined}>
            Parked usage
          </Link>
          <Link href={eventPath()} aria-current={current === 'event' ? 'page' : undefined}>
            Event lookup
          </Link>
          <Link href={catalogPath} aria-current={current === 'catalog' ? 'page' : undefined}>
            Catalog
          </Link>
          <Link href={reconciliationsPath} aria-current={current === 'reconciliation' ? 'page' : undefined}>
            Reconciliation
          </Link>
        </nav>
        <button type="button" className="quiet" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <ErrorBoundary key={current}>{children}</ErrorBoundary>
      </main>
    </>
  );
};
