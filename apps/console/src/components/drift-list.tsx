import type { components } from '@tally/client/http';
import { formatQuantity } from '../format';

type Drift = components['schemas']['ReconciliationDrift'];

/** Each drift cause in words (docs/invoicing.md, Reconciliation): what it means and what to do. */
export const driftExplanations: Record<Drift['cause'], { title: string; meaning: string; action: string }> = {
  rollups_behind: {
    title: 'Usage totals were behind the ledger',
    meaning:
      'The usage rollups had not yet applied every event the ledger holds when they were compared, so they count less.',
    action:
      'Nothing is wrong with billing: wait until the aggregation_usage_rollup projection has caught up (Overview) and run the reconciliation again.',
  },
  rollups_differ: {
    title: 'Usage totals disagree with the ledger',
    meaning: 'The usage rollups had applied the ledger up to the compared position and still count another quantity.',
    action:
      'Rebuild the rollups (POST /v1/admin/projections/aggregation_usage_rollup/rebuild), then run the reconciliation again; report it if it stays.',
  },
  changed_after_finalization: {
    title: 'Usage changed after the invoice was final',
    meaning:
      'Late usage or a correction for this period reached the ledger after its invoice was finalized; a final invoice never changes.',
    action:
      'Nothing to do: the difference is billed as an adjustment (or owed back as a credit note) when the subscription’s next invoice finalizes.',
  },
  invoice_differs: {
    title: 'The invoice bills another quantity than the ledger holds',
    meaning:
      'The finalized invoice, with the adjustments and credit notes billed for it since, does not add up to the ledger’s quantity.',
    action:
      'Look into it before the invoice is paid: compare the invoice’s lines with the usage behind them, and report it.',
  },
};

/** A reconciliation's drifts, each marked (⚠ and a border, not colour alone) and explained in words. */
export const DriftList = ({ drifts, locale }: { drifts: readonly Drift[]; locale?: string }) => {
  if (drifts.length === 0)
    return (
      <p className="no-drift" data-testid="no-drift">
        ✓ No drift: every billed quantity equals the ledger’s.
      </p>
    );
  const quantity = (value: string | null) => (value === null ? '—' : formatQuantity(value, locale));
  return (
    <ol className="drifts">
      {drifts.map((drift, i) => {
        const words = driftExplanations[drift.cause];
        return (
          <li key={i} className="drift" data-testid="drift" data-cause={drift.cause}>
            <h3>
              <span aria-hidden="true">⚠ </span>
              <span className="visually-hidden">Drift: </span>
              {words.title}
            </h3>
            <p>
              <code>{drift.meter}</code>
              {drift.perValue && ` · ${drift.perValue}`} on account <code>{drift.accountId}</code>, subscription{' '}
              <code>{drift.subscriptionId}</code>: ledger <strong>{quantity(drift.ledger)}</strong>, rollups{' '}
              {quantity(drift.rollups)}, invoiced {quantity(drift.invoiced)}.
            </p>
            <p>
              <strong>What it means:</strong> {words.meaning}
            </p>
            <p>
              <strong>What to do:</strong> {words.action}
            </p>
            <p className="hint">{drift.detail}</p>
          </li>
        );
      })}
    </ol>
  );
};
