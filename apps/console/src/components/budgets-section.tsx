import type { components, TallyHttpClient } from '@tally/client/http';
import { loaded, type Loaded } from '../api';
import { allowanceAlerts, costBudgetUse, usageBudgetUse, type BudgetUse } from '../budgets';
import { formatMoney, formatQuantity } from '../format';
import { useLoaded } from '../use-loaded';
import { Pending } from './notice';

type UpcomingInvoice = components['schemas']['UpcomingInvoice'];
type CostBudget = components['schemas']['CostBudgetWithAlerts'];

/** How often budgets are asked again (their alerts come with billing runs, not with every event). */
const refreshMs = 10_000;

/**
 * The account's budgets this period: each usage budget's consumption (GET /v1/budgets, against usage by app) and
 * each cost budget's (GET /v1/cost-budgets, against the upcoming invoice), with the thresholds crossed.
 */
export const BudgetsSection = ({
  client,
  accountId,
  invoice,
  locale,
}: {
  client: TallyHttpClient;
  accountId: string;
  invoice: Loaded<UpcomingInvoice>;
  locale: string;
}) => {
  const budgets = useLoaded(
    `budgets:${accountId}`,
    async () => loaded(await client.GET('/v1/budgets', { params: { query: { accountId } } })),
    { refreshMs },
  );
  const usage = useLoaded(
    `budget-usage:${accountId}`,
    async () =>
      loaded(
        await client.GET('/v1/accounts/{id}/usage', {
          params: { path: { id: accountId }, query: { breakdownBy: 'app' } },
        }),
      ),
    { refreshMs },
  );
  const costBudgets = useLoaded(
    `cost-budgets:${accountId}`,
    async (): Promise<Loaded<CostBudget[]>> => {
      const list = loaded(await client.GET('/v1/cost-budgets', { params: { query: { accountId } } }));
      if (list.state !== 'ready') return list;
      // The list has no alerts: each budget is asked for its own.
      const each = await Promise.all(
        list.data.items.map(async (b) =>
          loaded(await client.GET('/v1/cost-budgets/{id}', { params: { path: { id: b.budgetId } } })),
        ),
      );
      const refused = each.find((b) => b.state !== 'ready');
      if (refused) return refused as Exclude<typeof refused, { state: 'ready' }>;
      return { state: 'ready', data: each.flatMap((b) => (b.state === 'ready' ? [b.data] : [])) };
    },
    { refreshMs },
  );

  if (budgets.state !== 'ready') return <Pending loaded={budgets} what="the budgets" />;
  if (usage.state !== 'ready') return <Pending loaded={usage} what="the usage budgets are measured against" />;
  if (costBudgets.state !== 'ready') return <Pending loaded={costBudgets} what="the cost budgets" />;
  if (budgets.data.items.length === 0 && costBudgets.data.length === 0)
    return <p>No budget is set for this account (POST /v1/budgets, POST /v1/cost-budgets).</p>;
  const money = (value: string) =>
    invoice.state === 'ready' ? formatMoney(value, invoice.data.currency, locale) : value;

  return (
    <table className="budgets">
      <thead>
        <tr>
          <th scope="col">Budget</th>
          <th scope="col">On</th>
          <th scope="col" className="number">
            Used
          </th>
          <th scope="col" className="number">
            Limit
          </th>
          <th scope="col">Thresholds crossed this period</th>
        </tr>
      </thead>
      <tbody>
        {budgets.data.items.map((budget) => {
          const use = usageBudgetUse(budget, usage.data);
          return (
            <BudgetRow
              key={`usage:${budget.budgetId}`}
              id={budget.budgetId}
              on={`${budget.meter}${budget.app ? ` · ${budget.app}` : ''}`}
              use={use}
              used={formatQuantity(use.used, locale)}
              limit={formatQuantity(budget.limit, locale)}
              thresholds={budget.thresholds}
            />
          );
        })}
        {costBudgets.data.map((budget) => {
          if (invoice.state !== 'ready')
            return (
              <tr key={`cost:${budget.budgetId}`}>
                <th scope="row">{budget.budgetId}</th>
                <td colSpan={4}>
                  {invoice.state === 'loading'
                    ? 'Waiting for the upcoming invoice…'
                    : 'Not measured: the upcoming invoice it is held against could not be loaded.'}
                </td>
              </tr>
            );
          const use = costBudgetUse(budget, invoice.data);
          const freeAlerts = budget.allowances ? allowanceAlerts(budget, invoice.data.period.label) : [];
          return (
            <BudgetRow
              key={`cost:${budget.budgetId}`}
              id={budget.budgetId}
              on={`cost${budget.app ? ` · ${budget.app}` : ''}${budget.allowances ? ' · free allowances' : ''}`}
              use={use}
              used={money(use.used)}
              limit={budget.limit === null ? '—' : money(budget.limit)}
              thresholds={budget.thresholds}
              notes={freeAlerts.map(
                (a) =>
                  `${a.meter}${a.perValue ? ` · ${a.perValue}` : ''}: ${a.threshold} % of the free allowance reached`,
              )}
            />
          );
        })}
      </tbody>
    </table>
  );
};

const BudgetRow = (props: {
  id: string;
  on: string;
  use: BudgetUse;
  used: string;
  limit: string;
  thresholds: number[];
  notes?: string[];
}) => (
  <tr data-testid="budget" data-budget={props.id}>
    <th scope="row">
      <code>{props.id}</code>
    </th>
    <td>{props.on}</td>
    <td className="number" data-testid="budget-used">
      {props.used}
      {props.use.percent !== undefined && <div className="hint">{props.use.percent} %</div>}
    </td>
    <td className="number">{props.limit}</td>
    <td data-testid="budget-crossed">
      {props.use.crossed.length === 0
        ? `none of ${props.thresholds.map((t) => `${t} %`).join(', ')}`
        : props.use.crossed.map((t) => `⚑ ${t} %`).join(', ')}
      {props.notes && props.notes.length > 0 && (
        <ul className="hint">
          {props.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
    </td>
  </tr>
);
