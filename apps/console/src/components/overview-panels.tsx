import type { components } from '@tally/client/http';
import { formatInstant } from '../format';
import { billingRunOutcome } from '../pipeline';
import { reconciliationPath } from '../router';
import { Link } from './link';

type IntakeRate = components['schemas']['IntakeRate'];
type BillingRun = components['schemas']['BillingRunRecord'];
type ReconciliationSummary = components['schemas']['ReconciliationSummary'];

const windows = [
  ['lastMinute', 'Last minute'],
  ['last15Minutes', 'Last 15 minutes'],
  ['lastHour', 'Last hour'],
] as const;

/** The API's one-decimal rate as it is, grouped: 0.0, 12.5, 1,234.5 (the decimal string, no float between). */
const perSecond = (rate: string) =>
  new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(rate as `${number}`);

/** Events first accepted in each window, and the rate per second over it (the API's one-decimal figure). */
export const IntakePanel = ({ rate }: { rate: IntakeRate }) => (
  <>
    <table className="intake">
      <caption className="visually-hidden">Events accepted by intake, per window ending {rate.at}</caption>
      <thead>
        <tr>
          <th scope="col">Window</th>
          <th scope="col" className="number">
            Accepted
          </th>
          <th scope="col" className="number">
            Per second
          </th>
        </tr>
      </thead>
      <tbody>
        {windows.map(([key, label]) => (
          <tr key={key} data-testid="intake-window" data-window={key}>
            <th scope="row">{label}</th>
            <td className="number" data-testid="intake-accepted">
              {rate[key].accepted.toLocaleString()}
            </td>
            <td className="number" data-testid="intake-per-second">
              {perSecond(rate[key].perSecond)}/s
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    <p className="hint">
      {rate.newestAcceptedAt
        ? `Newest event accepted ${formatInstant(rate.newestAcceptedAt)}.`
        : 'No event has been accepted yet.'}
    </p>
  </>
);

/** The tenant's newest billing run: when, what started it, what it did, and why it failed if it did. */
export const LastBillingRun = ({ run }: { run: BillingRun | undefined }) =>
  !run ? (
    <p data-testid="billing-run">No billing run yet: the billing clock runs them, or POST /v1/admin/billing-runs.</p>
  ) : (
    <dl className="facts" data-testid="billing-run" data-started-at={run.startedAt}>
      <dt>Started</dt>
      <dd data-testid="billing-run-started">
        {formatInstant(run.startedAt)} ({run.trigger === 'manual' ? 'started by hand' : 'the billing clock'},{' '}
        {run.durationMs.toLocaleString()} ms)
      </dd>
      <dt>Outcome</dt>
      <dd data-testid="billing-run-outcome">
        {run.error ? (
          <span className="refusal">
            <span aria-hidden="true">⚠ </span>Failed: {run.error}
          </span>
        ) : (
          billingRunOutcome(run)
        )}
      </dd>
    </dl>
  );

/** A reconciliation's drift count, marked with a sign and in words when there is any (not colour alone). */
export const DriftCount = ({ count }: { count: number | null }) =>
  count === null ? (
    <span data-testid="drift-count">—</span>
  ) : count === 0 ? (
    <span data-testid="drift-count">✓ no drift</span>
  ) : (
    <strong className="over" data-testid="drift-count">
      <span aria-hidden="true">⚠ </span>
      {count.toLocaleString()} drift{count === 1 ? '' : 's'}
    </strong>
  );

/** The newest reconciliation: its period, status, when, its drift count and a link to the report. */
export const LastReconciliation = ({ reconciliation }: { reconciliation: ReconciliationSummary | undefined }) =>
  !reconciliation ? (
    <p data-testid="last-reconciliation">No reconciliation yet.</p>
  ) : (
    <dl className="facts" data-testid="last-reconciliation">
      <dt>Period</dt>
      <dd>
        <Link href={reconciliationPath(reconciliation.id)}>{reconciliation.period}</Link>:{' '}
        <span className={`status status-${reconciliation.status}`} data-testid="last-reconciliation-status">
          {reconciliation.status}
        </span>
      </dd>
      <dt>Requested</dt>
      <dd>{formatInstant(reconciliation.requestedAt)}</dd>
      <dt>Drifts</dt>
      <dd>
        <DriftCount count={reconciliation.driftCount} />
      </dd>
    </dl>
  );
