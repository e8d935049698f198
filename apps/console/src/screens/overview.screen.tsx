import { useId, useState, type FormEvent } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { ProjectionsTable } from '../components/projections-table';
import { Pending } from '../components/notice';
import { accountPath, navigate } from '../router';
import { useLoaded } from '../use-loaded';

/**
 * The pipeline's health: each projection's status and lag (GET /v1/admin/projections, the operator's token
 * only), and a way to an account's page. The last billing run is not queryable yet.
 */
export const OverviewScreen = ({ client }: { client: TallyHttpClient }) => {
  const projections = useLoaded('projections', async () => loaded(await client.GET('/v1/admin/projections')));
  return (
    <>
      <h1>Overview</h1>
      <OpenAccount />
      <section aria-labelledby="projections-heading">
        <h2 id="projections-heading">Projections</h2>
        {projections.state === 'ready' ? (
          <ProjectionsTable projections={projections.data.projections} />
        ) : projections.state === 'refused' && projections.status === 403 ? (
          <p className="hint">
            Projections are shown to the operator token (<code>TALLY_ADMIN_TOKEN</code>) only; this credential may open
            accounts.
          </p>
        ) : (
          <Pending loaded={projections} what="the projections" />
        )}
      </section>
    </>
  );
};

/** There is no account list in the API yet: an account is opened by its id. */
const OpenAccount = () => {
  const [accountId, setAccountId] = useState('');
  const inputId = useId();
  const open = (event: FormEvent) => {
    event.preventDefault();
    if (accountId.trim()) navigate(accountPath(accountId.trim()));
  };
  return (
    <section aria-labelledby="open-account-heading">
      <h2 id="open-account-heading">Accounts</h2>
      <form className="inline" onSubmit={open}>
        <label htmlFor={inputId}>Account id</label>
        <input id={inputId} name="accountId" value={accountId} onChange={(event) => setAccountId(event.target.value)} />
        <button type="submit">Open account</button>
      </form>
    </section>
  );
};
