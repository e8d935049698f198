import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/shared/data-access-postgres';

/** Usage rollups: one row per counted usage event (the idempotency key) and per-minute totals. */
export class CreateRollups1764100000001 implements MigrationInterface {
  name = 'CreateRollups1764100000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".usage_facts (
        usage_id uuid primary key, tenant text not null, account_id text not null, subject text not null,
        event_type text not null, time timestamptz not null);
      create table "${s}".usage_minute (
        tenant text not null, account_id text not null, event_type text not null, minute timestamptz not null,
        events bigint not null, primary key (tenant, account_id, minute, event_type));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".usage_minute, "${s}".usage_facts`);
  }
}

/** Voided usage leaves the rollups; a void that arrives before its event keeps the event out. */
export class UsageVoids1764300000001 implements MigrationInterface {
  name = 'UsageVoids1764300000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      alter table "${s}".usage_facts add column voided boolean not null default false;
      create table "${s}".voided_usage (usage_id uuid primary key);`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".voided_usage; alter table "${s}".usage_facts drop column voided`);
  }
}

export const rollupMigrations = [CreateRollups1764100000001, UsageVoids1764300000001];
