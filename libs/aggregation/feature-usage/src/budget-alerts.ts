import {
  aggregationStream,
  BudgetThresholdCrossed,
  budgetThresholdCrossedSubject,
  isBudgetAlertEvent,
} from '@tally/contracts/meters';
import { Consumer } from '@tally/shared/data-access-messaging';
import { Projection } from '@tally/shared/data-access-postgres';
import { ledgerRelay, startSignedWebhooks, TallyRuntime } from '@tally/shared/feature-runtime';

/** Budget alerts go from the ledger to NATS (`aggregation_budget_alert_relay`), then to the configured webhook. */
export const budgetAlertRelay = (runtime: TallyRuntime): Projection<BudgetThresholdCrossed> =>
  ledgerRelay(
    runtime,
    { name: 'aggregation_budget_alert_relay', formerNames: ['budget_alert_relay'] },
    isBudgetAlertEvent,
    () => budgetThresholdCrossedSubject,
  );

export const startBudgetWebhooks = (runtime: TallyRuntime): Promise<Consumer | undefined> =>
  startSignedWebhooks(runtime, {
    kind: 'budget',
    url: runtime.config.TALLY_BUDGET_WEBHOOK_URL,
    secrets: runtime.config.TALLY_BUDGET_WEBHOOK_SECRET,
    urlVariable: 'TALLY_BUDGET_WEBHOOK_URL',
    secretVariable: 'TALLY_BUDGET_WEBHOOK_SECRET',
    stream: aggregationStream,
    durable: 'aggregation_budget_webhooks',
    filterSubject: budgetThresholdCrossedSubject,
  });
