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

/**
 * What became of each event, by its ledger id: fed by intake (accepted, rejected) and by the ledger
 * (recorded, parked, attributed, voided, amended), so "accepted but never counted" can be explained.
 */
export class CreateEventStatus1764200000001 implements MigrationInterface {
  name = 'CreateEventStatus1764200000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".event_status (
        usage_id uuid primary key, tenant text not null, source text not null, event_id text not null,
        accepted_at timestamptz, rejected_at timestamptz, rejection jsonb,
        recorded_at timestamptz, parked_at timestamptz, parked_reason text,
        attributed_at timestamptz, account_id text,
        voided_at timestamptz, void_reason text, amended_at timestamptz, amend_reason text);`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop table "${schemaOf(queryRunner)}".event_status`);
  }
}

/** Where the event is now (attributed or parked): usage can move both ways when the registry changes. */
export class EventStatusCurrent1764400000002 implements MigrationInterface {
  name = 'EventStatusCurrent1764400000002';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".event_status add column current text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".event_status drop column current`);
  }
}

/**
 * What each accepted event was (type, subject, time, data), written by the status consumer off the request
 * path, for OpenMeter's listEvents; listed newest first by event time. Rows from before have none and are not
 * listed. `data` is the JSON text as intake passed it on: text, not jsonb — it is only ever shown, never queried,
 * and jsonb's parsing cost the status consumer (and intake, on the same cores) a measurable share.
 */
export class EventStatusContent1764700000003 implements MigrationInterface {
  name = 'EventStatusContent1764700000003';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      alter table "${s}".event_status add column event_type text, add column subject text,
        add column event_time timestamptz, add column data text;
      create index event_status_listing_idx on "${s}".event_status (tenant, event_time desc) where event_type is not null;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop index "${s}".event_status_listing_idx;
      alter table "${s}".event_status drop column event_type, drop column subject, drop column event_time, drop column data`);
  }
}

/**
 * GET /v1/admin/intake counts a tenant's events accepted in the last minute, 15 minutes and hour: without this
 * index that is a scan of every status row (all tenants, every event of the lateness horizon); with it, a range
 * of the tenant's newest entries. Partial: rejected-only rows never count.
 */
export class EventStatusAcceptedIndex1765100000001 implements MigrationInterface {
  name = 'EventStatusAcceptedIndex1765100000001';

  // Built in the migration's transaction, not concurrently: a concurrent build waits for every older snapshot in the
  // database, and a second instance starting beside this one waits in the migration lock with one — neither would
  // ever finish (the chaos run's two ingestion instances did not start). While it builds, status writes wait; they
  // are the status consumer's, off intake's path, and catch up from JetStream afterwards.
  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(
      `create index event_status_accepted_idx on "${s}".event_status (tenant, accepted_at) where accepted_at is not null`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop index "${schemaOf(queryRunner)}".event_status_accepted_idx`);
  }
}

export const intakeMigrations = [
  CreateApiKeys1764200000000,
  CreateEventStatus1764200000001,
  EventStatusCurrent1764400000002,
  EventStatusContent1764700000003,
  EventStatusAcceptedIndex1765100000001,
];
