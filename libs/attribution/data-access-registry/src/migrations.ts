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

export const registryMigrations = [CreateRegistry1764100000000, ParkedUsageVoids1764300000000];
