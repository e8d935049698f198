import { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/shared/data-access-postgres';

/** Producer API keys: only a SHA-256 of each key is stored; the key itself is shown once, at creation. */
export class CreateApiKeys1764200000000 implements MigrationInterface {
  name = 'CreateApiKeys1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".api_keys (
        id uuid primary key, tenant text not null, name text not null, prefix text not null,
        key_hash bytea not null unique, allowed_sources text[] not null,
        created_at timestamptz not null, revoked_at timestamptz);`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop table "${schemaOf(queryRunner)}".api_keys`);
  }
}

export const intakeMigrations = [CreateApiKeys1764200000000];
