import { useId, useState, type FormEvent, type ReactNode } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded, type Loaded } from '../api';
import { Link } from '../components/link';
import { Pending } from '../components/notice';
import { IntakePanel, LastBillingRun, LastReconciliation } from '../components/overview-panels';
import { ProjectionsTable } from '../components/projections-table';
import { listedCount } from '../pipeline';
import { accountsPath, navigate, parkedPath, reconciliationsPath } from '../router';
import { useLoaded } from '../use-loaded';

// The intake rate moves by the second; the rest by the batch or the run.
const intakeRefreshMs = 3_000;
const refreshMs = 5_000;
// One page of a list, as large as its API allows: the count is exact below it (pipeline.ts: listedCount).
const countPage = '1000';

/**
 * The pipeline at a glance, each part asked again every few seconds: intake's rate, accepted → visible and each
 * projection's lag, parked usage and dead letters, the last billing run and the last reconciliation. A part the
 * credential may not read (projections and dead letters are the operator's) says so in a sentence; one Tally
 * cannot answer (503, gone) says that, and the rest stays.
 */
export const OverviewScreen = ({ client }: { client: TallyHttpClient }) => {
  const intake = useLoaded('intake', async () => loaded(await client.GET('/v1/admin/intake')), {
    refreshMs: intakeRefreshMs,
  });
  const projections = useLoaded('projections', async () => loaded(await client.GET('/v1/admin/projections')), {
    refreshMs,
  });
  const parked = useLoaded(
    'parked-count',
    async () => loaded(await client.GET('/v1/parked-usage', { params: { query: { limit: countPage } } })),
    { refreshMs },
  );
  const deadLetters = useLoaded(
    'dead-letter-count',
    async () => loaded(await client.GET('/v1/admin/dead-letters', { params: { query: { limit: countPage } } })),
    { refreshMs },
  );
  const billingRuns = useLoaded(
    'last-billing-run',
    async () => loaded(await client.GET('/v1/admin/billing-runs', { params: { query: { limit: '1' } } })),
    { refreshMs },
  );
  const reconciliations = useLoaded(
    'last-reconciliation',
    async () => loaded(await client.GET('/v1/reconciliations', { params: { query: { limit: '1' } } })),
    { refreshMs },
  );
  return (
    <>
      <h1>Overview</h1>
      <SearchAccounts />
      <div className="panels">
        <Panel id="intake" title="Intake">
          <Shown loaded={intake} what="the intake rate">
            {(rate) => <IntakePanel rate={rate} />}
          </Shown>
        </Panel>
        <Panel id="parked" title="Parked usage">
          <Shown loaded={parked} what="the parked usage">
            {(page) => (
              <p>
                <strong data-testid="parked-count">{listedCount(page.items.length, page.next)}</strong> usage{' '}
                {one(page.items, page.next) ? 'event' : 'events'} parked, waiting for the registry to say whose they
                are. <Link href={parkedPath}>See each, and its fix</Link>
              </p>
            )}
          </Shown>
        </Panel>
        <Panel id="dead-letters" title="Dead letters">
          <Shown
            loaded={deadLetters}
            what="the dead letters"
            forbidden="Dead letters are the platform’s, not a tenant’s: the operator token (TALLY_ADMIN_TOKEN) sees them; this credential does not."
          >
            {(page) => (
              <p>
                <strong data-testid="dead-letter-count">{listedCount(page.deadLetters.length, page.next)}</strong>{' '}
                {one(page.deadLetters, page.next) ? 'message' : 'messages'} a consumer gave up on (GET
                /v1/admin/dead-letters; replay them once the cause is fixed).
              </p>
            )}
          </Shown>
        </Panel>
        <Panel id="billing-run" title="Last billing run">
          <Shown loaded={billingRuns} what="the billing runs">
            {(list) => <LastBillingRun run={list.runs[0]} />}
          </Shown>
        </Panel>
        <Panel id="reconciliation" title="Last reconciliation">
          <Shown loaded={reconciliations} what="the reconciliations">
            {(list) => <LastReconciliation reconciliation={list.reconciliations[0]} />}
          </Shown>
          <p>
            <Link href={reconciliationsPath}>All reconciliations</Link>
          </p>
        </Panel>
      </div>
      <Panel id="projections" title="Projections: accepted → visible">
        <Shown
          loaded={projections}
          what="the projections"
          forbidden="Projections are the platform’s, not a tenant’s: the operator token (TALLY_ADMIN_TOKEN) sees their status and lag; this credential does not."
        >
          {(answer) => <ProjectionsTable projections={answer.projections} />}
        </Shown>
      </Panel>
    </>
  );
};

/** Exactly one listed (a page without more behind it): the sentence speaks of it in the singular. */
const one = (items: readonly unknown[], next: string | null) => items.length === 1 && next === null;

const Panel = ({ id, title, children }: { id: string; title: string; children: ReactNode }) => (
  <section aria-labelledby={`${id}-heading`} className="panel" data-testid={`panel-${id}`}>
    <h2 id={`${id}-heading`}>{title}</h2>
    {children}
  </section>
);

/** The answer drawn, or why there is none: a 403 as the sentence given (what this credential may not see). */
const Shown = <T,>({
  loaded: answer,
  what,
  forbidden,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  forbidden?: string;
  children: (data: T) => ReactNode;
}) =>
  answer.state === 'ready' ? (
    children(answer.data)
  ) : answer.state === 'refused' && answer.status === 403 && forbidden ? (
    <p className="hint" data-testid="not-for-this-credential">
      {forbidden}
    </p>
  ) : (
    <Pending loaded={answer} what={what} />
  );

/** Goes to the accounts whose name or id holds the text (`/accounts?search=…`, a bookmarkable search). */
const SearchAccounts = () => {
  const [search, setSearch] = useState('');
  const inputId = useId();
  const go = (event: FormEvent) => {
    event.preventDefault();
    navigate(accountsPath({ search: search.trim() || undefined }));
  };
  return (
    <form className="inline" role="search" onSubmit={go}>
      <label htmlFor={inputId}>Find an account (name or id)</label>
      <input id={inputId} type="search" value={search} onChange={(event) => setSearch(event.target.value)} />
      <button type="submit">Search accounts</button>
    </form>
  );
};
