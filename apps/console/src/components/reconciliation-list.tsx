import type { components } from '@tally/client/http';
import { formatInstant } from '../format';
import { reconciliationPath, reconciliationsPagePath, type PageQuery } from '../router';
import { Link } from './link';
import { DriftCount } from './overview-panels';

type ReconciliationSummary = components['schemas']['ReconciliationSummary'];

const counted = (count: number | undefined, what: string) =>
  `${(count ?? 0).toLocaleString()} ${what}${count === 1 ? '' : 's'}`;

/** What a completed run compared, in words; what it is doing or why it failed otherwise. */
const compared = (r: ReconciliationSummary) =>
  r.status === 'completed'
    ? [
        counted(r.accounts, 'account'),
        counted(r.subscriptions, 'subscription'),
        counted(r.invoicesCompared, 'finalized invoice'),
        counted(r.groupsCompared, 'meter group'),
      ].join(', ')
    : r.status === 'running'
      ? 'comparing…'
      : `failed: ${r.error ?? 'no reason given'}`;

/** Reconciliation runs, newest request first, each leading to its report; a drift count above 0 is marked. */
export const ReconciliationList = ({
  reconciliations,
  next,
  query,
}: {
  reconciliations: readonly ReconciliationSummary[];
  next: string | null;
  query: PageQuery;
}) =>
  reconciliations.length === 0 ? (
    <p data-testid="no-reconciliation">No reconciliation yet: start one above.</p>
  ) : (
    <>
      <table>
        <caption className="visually-hidden">Reconciliations, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Period</th>
            <th scope="col">Status</th>
            <th scope="col">Requested</th>
            <th scope="col">Compared</th>
            <th scope="col">Drifts</th>
          </tr>
        </thead>
        <tbody>
          {reconciliations.map((r) => (
            <tr key={r.id} data-testid="reconciliation-row" data-reconciliation={r.id}>
              <th scope="row">
                <Link href={reconciliationPath(r.id)} aria-label={`Report of ${r.period}, requested ${r.requestedAt}`}>
                  {r.period}
                </Link>
              </th>
              <td>
                <span className={`status status-${r.status}`}>{r.status}</span>
              </td>
              <td>{formatInstant(r.requestedAt, 'UTC')}</td>
              <td className={r.status === 'failed' ? 'refusal' : undefined}>{compared(r)}</td>
              <td>
                <DriftCount count={r.driftCount} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <nav aria-label="Pages of reconciliations" className="pages">
        {query.before && <Link href={reconciliationsPagePath({ limit: query.limit })}>Newest</Link>}
        {next && <Link href={reconciliationsPagePath({ limit: query.limit, before: next })}>Older</Link>}
      </nav>
    </>
  );
