import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/shared/data-access-postgres';

/** Attribution's read model of the registry, and the parked-usage list. Rebuildable from the ledger. */
export class CreateRegistry1764100000000 implements MigrationInterface {
  name = 'CreateRegistry1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".accounts (
        tenant text not null, account_id text not null, name text not null, currency text not null,
        timezone text not null, opened_at timestamptz not null, primary key (tenant, account_id));
      create table "${s}".subject_assignments (
        tenant text not null, subject text not null, effective_from timestamptz not null,
        account_id text not null, attributes jsonb not null, assigned_at timestamptz not null,
        primary key (tenant, subject, effective_from));
      create table "${s}".parked_usage (
        usage_id uuid primary key, tenant text not null, subject text not null, source text not null,
        event_id text not null, event_type text not null, time timestamptz not null, data jsonb not null,
        reason text not null, parked_at timestamptz not null,
        attributed_account_id text, attributed_at timestamptz);
      create index parked_usage_open_idx on "${s}".parked_usage (tenant, subject, time) where attributed_at is null;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".parked_usage, "${s}".subject_assignments, "${s}".accounts`);
  }
}

/** A voided parked event is neither listed nor attributed later. */
export class ParkedUsageVoids1764300000000 implements MigrationInterface {
  name = 'ParkedUsageVoids1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".parked_usage add column voided_at timestamptz`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".parked_usage drop column voided_at`);
  }
}

/**
 * Temporal registry: each subject's ownership timeline, each account's subscriptions, and the
 * attribution index — every recorded usage event with its current attribution, so that a registry
 * change can find exactly the usage it affects. Replaces the parked-only list. Each folded row keeps the
 * ledger position it was last changed at: an event at or below it is already in (idempotent replay).
 */
export class TemporalRegistry1764400000000 implements MigrationInterface {
  name = 'TemporalRegistry1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      drop table "${s}".subject_assignments;
      drop table "${s}".parked_usage;
      alter table "${s}".accounts add column subscriptions jsonb not null default '[]'::jsonb;
      alter table "${s}".accounts add column subscriptions_position bigint not null default 0;
      create table "${s}".subject_timelines (tenant text not null, subject text not null, timeline jsonb not null, last_position bigint not null, primary key (tenant, subject));
      create table "${s}".account_subjects (tenant text not null, account_id text not null, subject text not null, primary key (tenant, account_id, subject));
      create table "${s}".subject_usage (
        usage_id uuid primary key, tenant text not null, subject text not null, source text not null, event_id text not null,
        event_type text not null, time timestamptz not null, attribution jsonb not null, last_position bigint not null,
        recorded_at timestamptz not null, voided_at timestamptz);
      create index subject_usage_subject_time_idx on "${s}".subject_usage (tenant, subject, time);
      create index subject_usage_parked_idx on "${s}".subject_usage (tenant, usage_id) where voided_at is null and attribution->>'status' = 'parked';`);
  }

  async down(): Promise<void> {
    throw new Error('TemporalRegistry cannot be reverted: rebuild the attribution projections from the ledger instead');
  }
}

/**
 * What the account list shows besides name and zone. Nullable: rows projected before this have neither until the
 * AccountOpened is applied again (a rebuild of attribution_registry fills them; until then they read as 1 and en-US).
 */
export class AccountListing1765100000000 implements MigrationInterface {
  name = 'AccountListing1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `alter table "${schemaOf(queryRunner)}".accounts add column billing_anchor_day int, add column locale text`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `alter table "${schemaOf(queryRunner)}".accounts drop column billing_anchor_day, drop column locale`,
    );
  }
}

export const registryMigrations = [
  CreateRegistry1764100000000,
  ParkedUsageVoids1764300000000,
  TemporalRegistry1764400000000,
  AccountListing1765100000000,
];
