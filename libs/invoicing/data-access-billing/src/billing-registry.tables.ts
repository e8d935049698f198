import { DataSource, EntityManager } from 'typeorm';
import type { CostBudget, PlanHistory, SubscriptionTimeline } from '@tally/invoicing/domain';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export interface BillingAccount {
  tenant: string;
  accountId: string;
  currency: string;
  timezone: string;
  anchorDay: number;
  subscriptions: SubscriptionTimeline[];
}

export interface PlanRow extends PlanHistory {
  name: string;
}

const toAccount = (r: Record<string, unknown>): BillingAccount => ({
  tenant: String(r.tenant),
  accountId: String(r.account_id),
  currency: String(r.currency),
  timezone: String(r.timezone),
  anchorDay: Number(r.anchor_day),
  subscriptions: r.subscriptions as SubscriptionTimeline[],
});

/** Accounts with their subscriptions and plans with their versions, as invoicing bills them. */
export class BillingRegistryTables {
  /** The tables this class writes for its projection (a rebuild builds copies of them and swaps them in). */
  static readonly tables = ['billing_accounts', 'billing_plans', 'cost_budgets'] as const;

  constructor(private readonly schema: string) {}

  async openAccount(tx: Queryable, a: Omit<BillingAccount, 'subscriptions'>): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".billing_accounts (tenant, account_id, currency, timezone, anchor_day) values ($1, $2, $3, $4, $5) on conflict do nothing`,
      [a.tenant, a.accountId, a.currency, a.timezone, a.anchorDay],
    );
  }

  async account(tx: Queryable, tenant: string, accountId: string): Promise<BillingAccount | undefined> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".billing_accounts where tenant = $1 and account_id = $2`,
      [tenant, accountId],
    );
    return rows[0] ? toAccount(rows[0]) : undefined;
  }

  async accounts(tx: Queryable, tenant: string): Promise<BillingAccount[]> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".billing_accounts where tenant = $1 order by account_id`,
      [tenant],
    );
    return rows.map(toAccount);
  }

  async saveSubscriptions(
    tx: Queryable,
    tenant: string,
    accountId: string,
    subscriptions: SubscriptionTimeline[],
  ): Promise<void> {
    await tx.query(
      `update "${this.schema}".billing_accounts set subscriptions = $3 where tenant = $1 and account_id = $2`,
      [tenant, accountId, JSON.stringify(subscriptions)],
    );
  }

  async savePlan(tx: Queryable, tenant: string, plan: PlanRow): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".billing_plans (tenant, plan_id, name, currency, versions) values ($1, $2, $3, $4, $5)
       on conflict (tenant, plan_id) do update set versions = excluded.versions`,
      [tenant, plan.planId, plan.name, plan.currency, JSON.stringify(plan.versions)],
    );
  }

  async plans(tx: Queryable, tenant: string): Promise<Map<string, PlanRow>> {
    const rows: Record<string, unknown>[] = await tx.query(
      `select * from "${this.schema}".billing_plans where tenant = $1`,
      [tenant],
    );
    return new Map(
      rows.map((r) => [
        String(r.plan_id),
        {
          planId: String(r.plan_id),
          name: String(r.name),
          currency: String(r.currency),
          versions: r.versions as PlanRow['versions'],
        },
      ]),
    );
  }

  /** The tenant's plan ids in byte order (the same on every installation), `limit` of them after `after`. */
  async planIds(tx: Queryable, tenant: string, limit: number, after?: string): Promise<string[]> {
    const rows: { plan_id: string }[] = await tx.query(
      `select plan_id from "${this.schema}".billing_plans where tenant = $1 and ($2::text is null or plan_id collate "C" > $2)
        order by plan_id collate "C" limit $3`,
      [tenant, after ?? null, limit],
    );
    return rows.map((r) => r.plan_id);
  }

  async setCostBudget(tx: Queryable, tenant: string, budget: CostBudget, position: bigint): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".cost_budgets (tenant, budget_id, account_id, definition, removed, last_position) values ($1, $2, $3, $4, false, $5)
       on conflict (tenant, budget_id) do update set account_id = excluded.account_id, definition = excluded.definition, removed = false,
         last_position = excluded.last_position
       where cost_budgets.last_position < excluded.last_position`,
      [tenant, budget.budgetId, budget.accountId, JSON.stringify(budget), position.toString()],
    );
  }

  async removeCostBudget(tx: Queryable, tenant: string, budgetId: string, position: bigint): Promise<void> {
    await tx.query(
      `update "${this.schema}".cost_budgets set removed = true, last_position = $3 where tenant = $1 and budget_id = $2 and last_position < $3`,
      [tenant, budgetId, position.toString()],
    );
  }

  /** The tenant's cost budgets (of one account), by id, at most `limit`. */
  async costBudgets(tx: Queryable, tenant: string, limit: number, accountId?: string): Promise<CostBudget[]> {
    const rows: { definition: CostBudget }[] = await tx.query(
      `select definition from "${this.schema}".cost_budgets where tenant = $1 and not removed and ($2::text is null or account_id = $2)
        order by budget_id limit $3`,
      [tenant, accountId ?? null, limit],
    );
    return rows.map((r) => r.definition);
  }
}
