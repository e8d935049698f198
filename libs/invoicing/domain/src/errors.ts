import { refusals } from '@tally/shared/util-core';

/** Invoicing's refusals (plans, invoices, reconciliations), each with its kind (docs/errors.md). */
export const invoicingRefusals = refusals({
  unknown_plan: 'unknown-reference',
  charged_meter_unknown: 'unknown-reference',
  plan_exists: 'conflict',
  effective_from_in_past: 'conflict',
  plan_version_out_of_order: 'conflict',
  unknown_invoice: 'not-found',
  invoice_not_draft: 'conflict',
  invoice_already_voided: 'conflict',
  earlier_invoice_open: 'conflict',
  no_active_subscription: 'not-found',
  account_not_found: 'not-found',
  unknown_reconciliation: 'not-found',
  usage_unavailable: 'unavailable',
  unknown_cost_budget: 'not-found',
  cost_budget_account_unknown: 'unknown-reference',
});
export type InvoicingRefusal = keyof typeof invoicingRefusals.codes;

/** Throws one of invoicing's refusals (typed: a code of another context, or a typo, does not compile). */
export const refuse: (code: InvoicingRefusal, message: string, field?: string) => never = invoicingRefusals.refuse;
