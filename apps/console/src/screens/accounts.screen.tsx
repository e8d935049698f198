import { useEffect, useId, useState, type FormEvent } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { Link } from '../components/link';
import { Pending } from '../components/notice';
import { accountPath, accountsPath, navigate, type PageQuery } from '../router';
import { useLoaded } from '../use-loaded';

type AccountsQuery = PageQuery & { search?: string };

/**
 * The accounts whose id or name holds the search (`/accounts?search=…`, GET /v1/accounts: case-insensitive, by
 * id), a page at a time: the address keeps the search and the page, so a search can be bookmarked and shared.
 */
export const AccountsScreen = ({ client, query }: { client: TallyHttpClient; query: AccountsQuery }) => {
  const accounts = useLoaded(`accounts:${accountsPath(query)}`, async () =>
    loaded(
      await client.GET('/v1/accounts', {
        params: { query: { search: query.search, limit: query.limit, after: query.after } },
      }),
    ),
  );
  return (
    <>
      <h1>Accounts</h1>
      <SearchForm search={query.search ?? ''} />
      {accounts.state !== 'ready' ? (
        <Pending loaded={accounts} what="the accounts" />
      ) : accounts.data.accounts.length === 0 ? (
        <p role="status" data-testid="no-account">
          {query.search ? `No account’s name or id holds “${query.search}”.` : 'No account yet (POST /v1/accounts).'}
        </p>
      ) : (
        <>
          <table>
            <caption className="visually-hidden">
              {query.search ? `Accounts matching “${query.search}”, by id` : 'Accounts, by id'}
            </caption>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Id</th>
                <th scope="col">Currency</th>
                <th scope="col">Time zone</th>
              </tr>
            </thead>
            <tbody>
              {accounts.data.accounts.map((account) => (
                <tr key={account.id} data-testid="account-row" data-account={account.id}>
                  <th scope="row">
                    <Link href={accountPath(account.id)}>{account.name}</Link>
                  </th>
                  <td>
                    <code>{account.id}</code>
                  </td>
                  <td>{account.currency}</td>
                  <td>{account.timezone}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav aria-label="Pages of accounts" className="pages">
            {query.after && <Link href={accountsPath({ search: query.search, limit: query.limit })}>First page</Link>}
            {accounts.data.next && (
              <Link href={accountsPath({ search: query.search, limit: query.limit, after: accounts.data.next })}>
                Next page
              </Link>
            )}
          </nav>
        </>
      )}
    </>
  );
};

const SearchForm = ({ search }: { search: string }) => {
  const [text, setText] = useState(search);
  // Back and forward change the address under the form: it shows the search of the page shown.
  useEffect(() => setText(search), [search]);
  const inputId = useId();
  const go = (event: FormEvent) => {
    event.preventDefault();
    navigate(accountsPath({ search: text.trim() || undefined }));
  };
  return (
    <form className="inline" role="search" onSubmit={go}>
      <label htmlFor={inputId}>Name or id contains</label>
      <input id={inputId} type="search" value={text} onChange={(event) => setText(event.target.value)} />
      <button type="submit">Search</button>
    </form>
  );
};
