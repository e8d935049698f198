import { useId, useState, type FormEvent } from 'react';
import type { TallyHttpClient } from '@tally/client/http';
import { loaded } from '../api';
import { DriftList } from '../components/drift-list';
import { ReconciliationList } from '../components/reconciliation-list';
import { Pending } from '../components/notice';
import { formatInstant } from '../format';
import { shift } from '../periods';
import { navigate, reconciliationPath, reconciliationsPath, type PageQuery } from '../router';
import { Link } from '../components/link';
import { useLoaded } from '../use-loaded';

/**
 * Reconciliation: start one for a billing period (POST /v1/reconciliations — an admin's), the runs newest first
 * (`/reconciliations?before=`, GET /v1/reconciliations) and a run's report (`/reconciliations/<id>`, asked again
 * while it runs): what was compared, and each drift explained.
 */
export const ReconciliationScreen = ({
  client,
  reconciliationId,
  query,
}: {
  client: TallyHttpClient;
  reconciliationId?: string;
  query: PageQuery;
}) => (
  <>
    <h1>Reconciliation</h1>
    <StartForm client={client} />
    {reconciliationId ? (
      <>
        <Report client={client} id={reconciliationId} />
        <p>
          <Link href={reconciliationsPath}>All reconciliations</Link>
        </p>
      </>
    ) : (
      <Runs client={client} query={query} />
    )}
  </>
);

/** The runs, a page at a time, asked again while one on it is running (its drift count comes when it completes). */
const Runs = ({ client, query }: { client: TallyHttpClient; query: PageQuery }) => {
  const runs = useLoaded(
    `reconciliations:${query.limit ?? ''}:${query.before ?? ''}`,
    async () =>
      loaded(
        await client.GET('/v1/reconciliations', { params: { query: { limit: query.limit, before: query.before } } }),
      ),
    {
      refreshMs: 2_000,
      refreshWhile: (answer) =>
        answer.state !== 'ready' || answer.data.reconciliations.some((r) => r.status === 'running'),
    },
  );
  return (
    <section aria-labelledby="runs-heading">
      <h2 id="runs-heading">Runs</h2>
      {runs.state !== 'ready' ? (
        <Pending loaded={runs} what="the reconciliations" />
      ) : (
        <ReconciliationList reconciliations={runs.data.reconciliations} next={runs.data.next} query={query} />
      )}
    </section>
  );
};

const lastPeriod = () => shift(new Date().toISOString().slice(0, 7), -1);

const StartForm = ({ client }: { client: TallyHttpClient }) => {
  const [period, setPeriod] = useState(lastPeriod);
  const [problem, setProblem] = useState<string>();
  const [starting, setStarting] = useState(false);
  const inputId = useId();
  const start = async (event: FormEvent) => {
    event.preventDefault();
    setStarting(true);
    setProblem(undefined);
    try {
      const answer = loaded(await client.POST('/v1/reconciliations', { body: { period: period.trim() } }));
      if (answer.state === 'ready') return navigate(reconciliationPath(answer.data.id));
      if (answer.state === 'refused')
        setProblem(
          answer.status === 403
            ? 'Only an admin may start a reconciliation: this credential may read reports, not start them. Ask an admin, or sign in with an admin credential.'
            : `Tally refused: ${answer.detail} (HTTP ${answer.status})`,
        );
    } catch (error) {
      setProblem(`Tally did not answer: ${String(error)}`);
    } finally {
      setStarting(false);
    }
  };
  return (
    <form className="inline" onSubmit={start}>
      <label htmlFor={inputId}>Billing period (YYYY-MM)</label>
      <input id={inputId} value={period} size={8} onChange={(e) => setPeriod(e.target.value)} />
      <button type="submit" disabled={starting}>
        {starting ? 'Starting…' : 'Start a reconciliation'}
      </button>
      {problem && (
        <p role="alert" className="refusal" data-testid="start-refused">
          {problem}
        </p>
      )}
    </form>
  );
};

const Report = ({ client, id }: { client: TallyHttpClient; id: string }) => {
  // Asked again every second while it runs (seconds), then never: a completed or failed report stays as it is.
  const report = useLoaded(
    `reconciliation:${id}`,
    async () => loaded(await client.GET('/v1/reconciliations/{id}', { params: { path: { id } } })),
    { refreshMs: 1_000, refreshWhile: (answer) => answer.state !== 'ready' || answer.data.status === 'running' },
  );
  if (report.state !== 'ready') return <Pending loaded={report} what="the reconciliation" />;
  const r = report.data;
  return (
    <section aria-labelledby="report-heading">
      <h2 id="report-heading">
        Period {r.period}: <span data-testid="reconciliation-status">{r.status}</span>
      </h2>
      <dl className="facts">
        <dt>Requested</dt>
        <dd>{formatInstant(r.requestedAt, 'UTC')}</dd>
        {r.completedAt && (
          <>
            <dt>Completed</dt>
            <dd>{formatInstant(r.completedAt, 'UTC')}</dd>
          </>
        )}
        {r.status === 'completed' && (
          <>
            <dt>Compared</dt>
            <dd data-testid="reconciliation-compared">
              {r.accounts ?? 0} accounts, {r.subscriptions ?? 0} subscriptions, {r.invoicesCompared ?? 0} finalized
              invoices, {r.groupsCompared ?? 0} meter groups — ledger read up to position {r.ledgerPosition ?? '—'}
            </dd>
          </>
        )}
      </dl>
      {r.status === 'running' && <p role="status">Comparing the ledger, the usage rollups and the invoices…</p>}
      {r.status === 'failed' && (
        <p role="alert" className="refusal">
          The reconciliation failed: {r.error}. Start it again once the cause is fixed.
        </p>
      )}
      {r.status === 'completed' && <DriftList drifts={r.drifts ?? []} />}
    </section>
  );
};
