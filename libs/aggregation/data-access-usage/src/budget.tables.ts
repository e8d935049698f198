import { DataSource, EntityManager } from 'typeorm';
import type { Budget } from '@tally/aggregation/domain';

type Queryable = Pick<EntityManager, 'query'> | Pick<DataSource, 'query'>;

export class BudgetTables {
  /** The tables this class writes for its projection (a rebuild builds copies of them and swaps them in). */
  static readonly tables = ['budgets', 'budget_crossings'] as const;

  constructor(private readonly schema: string) {}

  async set(tx: Queryable, tenant: string, budget: Budget, position: bigint): Promise<void> {
    await tx.query(
      `insert into "${this.schema}".budgets (tenant, budget_id, account_id, definition, removed, last_position) values ($1, $2, $3, $4, false, $5)
       on conflict (tenant, budget_id) do update set account_id = excluded.account_id, definition = excluded.definition, removed = false, last_position = excluded.last_position
       where budgets.last_position < excluded.last_position`,
      [tenant, budget.budgetId, budget.accountId, JSON.stringify(budget), position.toString()],
    );
  }

  async remove(tx: Queryable, tenant: string, budgetId: string, position: bigint): Promise<void> {
    await tx.query(
      `update "${this.schema}".budgets set removed = true, last_position = $3 where tenant = $1 and budget_id = $2 and last_position < $3`,
      [tenant, budgetId, position.toString()],
    );
  }

  async ofAccount(tx: Queryable, tenant: string, accountId: string): Promise<Budget[]> {
    const rows: { definition: Budget }[] = await tx.query(
      `select definition from "${this.schema}".budgets where tenant = $1 and account_id = $2 and not removed order by budget_id`,
      [tenant, accountId],
    );
    return rows.map((r) => r.definition);
  }

  /**
   * The budgets of several accounts at once, by account (accounts without one are absent): one statement for
   * a batch of usage however many accounts it touched — it was one per account, a thousand for a batch across
   * a thousand accounts.
   */
  async ofAccounts(tx: Queryable, tenant: string, accountIds: readonly string[]): Promise<Map<string, Budget[]>> {
    const byAccount = new Map<string, Budget[]>();
    if (accountIds.length === 0) return byAccount;
    const rows: { account_id: string; definition: Budget }[] = await tx.query(
      `select account_id, definition from "${this.schema}".budgets
        where tenant = $1 and account_id = any($2::text[]) and not removed order by account_id, budget_id`,
      [tenant, [...new Set(accountIds)]],
    );
    for (const { account_id, definition } of rows) {
      const list = byAccount.get(account_id);
      if (list) list.push(definition);
      else byAccount.set(account_id, [definition]);
    }
    return byAccount;
  }

  /** The tenant's budgets by id (at most `limit`). */
  async all(tx: Queryable, tenant: string, limit: number): Promise<Budget[]> {
    const rows: { definition: Budget }[] = await tx.query(
      `select definition from "${this.schema}".budgets where tenant = $1 and not removed order by budget_id limit $2`,
      [tenant, limit],
    );
    return rows.map((r) => r.definition);
  }

  async get(tx: Queryable, tenant: string, budgetId: string): Promise<Budget | undefined> {
    const rows: { definition: Budget }[] = await tx.query(
      `select definition from "${this.schema}".budgets where tenant = $1 and budget_id = $2 and not removed`,
      [tenant, budgetId],
    );
    return rows[0]?.definition;
  }

  /** Records crossings; answers the thresholds that were not recorded before (those alert now). */
  async cross(
    tx: Queryable,
    tenant: string,
    budgetId: string,
    period: string,
    thresholds: readonly number[],
  ): Promise<number[]> {
    if (thresholds.length === 0) return [];
    const rows: { threshold: number }[] = await tx.query(
      `insert into "${this.schema}".budget_crossings (tenant, budget_id, period, threshold) select $1, $2, $3, unnest($4::int[]) on conflict do nothing returning threshold`,
      [tenant, budgetId, period, thresholds],
    );
    return rows.map((r) => r.threshold).sort((a, b) => a - b);
  }
}
