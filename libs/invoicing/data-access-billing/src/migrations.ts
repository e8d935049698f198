import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/shared/data-access-postgres';

/**
 * Invoicing's read models, all rebuildable from the ledger: the billing registry (accounts with their
 * subscriptions, plans with their versions), invoices and credit notes. Reconciliation reports are
 * operational records (re-run one to get a fresh report), not a projection.
 */
export class CreateBilling1764900000000 implements MigrationInterface {
  name = 'CreateBilling1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".billing_accounts (
        tenant text not null, account_id text not null, currency text not null, timezone text not null, anchor_day integer not null,
        subscriptions jsonb not null default '[]'::jsonb, primary key (tenant, account_id));
      create table "${s}".billing_plans (
        tenant text not null, plan_id text not null, name text not null, currency text not null, versions jsonb not null, primary key (tenant, plan_id));
      create table "${s}".invoices (
        tenant text not null, invoice_id uuid not null, account_id text not null, subscription_id text not null,
        period_label text not null, period_start timestamptz not null, status text not null, document jsonb not null,
        finalized_position bigint, primary key (tenant, invoice_id));
      create index invoices_account_idx on "${s}".invoices (tenant, account_id, period_start);
      create index invoices_subscription_idx on "${s}".invoices (tenant, subscription_id, period_start);
      create table "${s}".credit_notes (
        tenant text not null, credit_note_id uuid not null, invoice_id uuid not null, account_id text not null,
        document jsonb not null, position bigint not null, primary key (tenant, credit_note_id));
      create index credit_notes_account_idx on "${s}".credit_notes (tenant, account_id);
      create table "${s}".reconciliations (
        tenant text not null, reconciliation_id uuid not null, period text not null, status text not null,
        requested_at timestamptz not null, completed_at timestamptz, report jsonb, primary key (tenant, reconciliation_id));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(
      `drop table "${s}".reconciliations, "${s}".credit_notes, "${s}".invoices, "${s}".billing_plans, "${s}".billing_accounts`,
    );
  }
}

/** Cost budgets, folded by the billing registry projection (the billing run measures them). */
export class CostBudgets1765000000001 implements MigrationInterface {
  name = 'CostBudgets1765000000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table "${schemaOf(queryRunner)}".cost_budgets (
        tenant text not null, budget_id text not null, account_id text not null, definition jsonb not null,
        removed boolean not null default false, last_position bigint not null, primary key (tenant, budget_id))`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop table "${schemaOf(queryRunner)}".cost_budgets`);
  }
}

/**
 * The billing runs' history (an operational record, like reconciliations: not rebuilt from the ledger), and
 * reconciliations listed newest first.
 */
export class BillingRunHistory1766000000000 implements MigrationInterface {
  name = 'BillingRunHistory1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".billing_runs (
        tenant text not null, run_id bigint generated always as identity, trigger text not null,
        started_at timestamptz not null, duration_ms integer not null, outcome jsonb not null, cost_alerts integer not null,
        error text, primary key (tenant, run_id));
      create index reconciliations_requested_idx on "${s}".reconciliations (tenant, requested_at desc, reconciliation_id desc);
      -- A list reads these, never the report: its drifts may be thousands (a megabyte each time the console asks).
      alter table "${s}".reconciliations add column summary jsonb, add column drift_count integer;
      update "${s}".reconciliations set summary = report - 'drifts', drift_count = jsonb_array_length(report -> 'drifts')
       where report is not null;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(
      `alter table "${s}".reconciliations drop column summary, drop column drift_count;
       drop index "${s}".reconciliations_requested_idx; drop table "${s}".billing_runs`,
    );
  }
}

/**
 * Reconciliation's own fold of the ledger (issue 18): kept between runs so a run reads only the ledger's tail.
 * Rebuildable: deleting the checkpoint row makes the next run empty the tables and fold the ledger from the start.
 * Times and ids in collation "C": compared code unit by code unit, as the fold (JavaScript) compares them.
 */
export class ReconciliationLedger1767000000000 implements MigrationInterface {
  name = 'ReconciliationLedger1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".reconciliation_ledger_checkpoint (
        name text primary key, position bigint not null, updated_at timestamptz not null default now());
      create table "${s}".reconciliation_usage (
        tenant text not null, usage_id text collate "C" not null, event_type text not null, subject text collate "C" not null,
        time text collate "C" not null, data jsonb not null, attribution jsonb, voided boolean not null,
        accounts text[] not null, last_position bigint not null, primary key (tenant, usage_id));
      -- A period's usage of a tenant; a time-weighted meter's reports per subject (the level carried into a period).
      create index reconciliation_usage_time_idx on "${s}".reconciliation_usage (tenant, time);
      create index reconciliation_usage_reports_idx on "${s}".reconciliation_usage (tenant, event_type, subject, time, usage_id);
      create table "${s}".reconciliation_pending (
        tenant text not null, usage_id text collate "C" not null, voided boolean not null, data jsonb, position bigint not null,
        primary key (tenant, usage_id));
      create table "${s}".reconciliation_meters (
        tenant text not null, slug text not null, meter jsonb, position bigint not null, primary key (tenant, slug));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(
      `drop table "${s}".reconciliation_meters, "${s}".reconciliation_pending, "${s}".reconciliation_usage,
         "${s}".reconciliation_ledger_checkpoint`,
    );
  }
}

/**
 * Each invoice row's stream revision and settlement (issue 18): billing decides on an earlier invoice from its row
 * when the ledger's stream is still at that revision, instead of reading the stream. Rows projected before this have
 * none and are read from the ledger as before, until the projection is rebuilt (docs/invoicing.md).
 */
export class InvoiceRevisions1768000000000 implements MigrationInterface {
  name = 'InvoiceRevisions1768000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`alter table "${s}".invoices add column revision bigint, add column settled jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`alter table "${s}".invoices drop column revision, drop column settled`);
  }
}

/**
 * The invoicing_standings projection (issue 18: an invoice's cost must not grow with its subscription's age): each
 * invoice's status and period, and each subscription's invoices summed up as re-rating decides on them. A projection of
 * its own, with its own checkpoint, built from the ledger's start when first run: complete by construction, and out of
 * reach of an older release (which does not know it) leading the other invoicing projections.
 */
export class InvoicingStandings1769100000000 implements MigrationInterface {
  name = 'InvoicingStandings1769100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    // (A development build kept summaries in a table of the same name beside invoicing_invoices: replaced.)
    await queryRunner.query(`
      drop table if exists "${s}".subscription_standings;
      create table "${s}".standing_invoices (
        tenant text not null, invoice_id text not null, subscription_id text not null, period_start text not null,
        period_end text not null, status text not null, revision bigint not null, primary key (tenant, invoice_id));
      create table "${s}".subscription_standings (
        tenant text not null, subscription_id text not null, summary jsonb not null, primary key (tenant, subscription_id));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    // Its checkpoint goes with its tables: kept, it would claim summaries that are no longer there.
    await queryRunner.query(`drop table "${s}".subscription_standings, "${s}".standing_invoices;
      do $$ begin
        if to_regclass('"${s}".projection_checkpoints') is not null then
          delete from "${s}".projection_checkpoints where name = 'invoicing_standings';
        end if;
      end $$;`);
  }
}

/**
 * The drafts of a tenant without reading its settled invoices (issue 18: a billing run's pass must not grow with its
 * subscriptions' age): every run lists the drafts, and before this index that meant every invoice row the tenant ever
 * had. Partial: drafts are the few rows still open.
 */
export class InvoiceDraftsIndex1769200000000 implements MigrationInterface {
  name = 'InvoiceDraftsIndex1769200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `create index invoices_drafts_idx on "${schemaOf(queryRunner)}".invoices (tenant, period_start) where status = 'draft'`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop index "${schemaOf(queryRunner)}".invoices_drafts_idx`);
  }
}

export const billingMigrations = [
  CreateBilling1764900000000,
  CostBudgets1765000000001,
  BillingRunHistory1766000000000,
  ReconciliationLedger1767000000000,
  InvoiceRevisions1768000000000,
  InvoicingStandings1769100000000,
  InvoiceDraftsIndex1769200000000,
];
