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

/**
 * Usage can move between accounts (re-attribution): every recorded event gets a fact (parked ones with
 * no account), and each fact remembers the ledger position of its last change, so a change is applied once.
 */
export class UsageMoves1764400000001 implements MigrationInterface {
  name = 'UsageMoves1764400000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      alter table "${s}".usage_facts alter column account_id drop not null;
      alter table "${s}".usage_facts add column last_position bigint not null default 0;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".usage_facts drop column last_position`);
  }
}

/** The meter catalogue, folded from the ledger's meter streams. */
export class CreateMeters1764500000000 implements MigrationInterface {
  name = 'CreateMeters1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      create table "${schemaOf(queryRunner)}".meters (
        tenant text not null, slug text not null, definition jsonb not null, created_at timestamptz not null,
        deleted_at timestamptz, last_position bigint not null, primary key (tenant, slug));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`drop table "${schemaOf(queryRunner)}".meters`);
  }
}

/**
 * Meters read each event's data (valueProperty, groupBy), so usage facts keep it (amendments replace it);
 * a meter created later applies to all history at once — its back-fill is the data already here.
 */
export class UsageFactData1764500000001 implements MigrationInterface {
  name = 'UsageFactData1764500000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      alter table "${s}".usage_facts add column data jsonb not null default '{}'::jsonb;
      create index usage_facts_meter_idx on "${s}".usage_facts (tenant, event_type, account_id, time) where not voided;`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop index "${s}".usage_facts_meter_idx; alter table "${s}".usage_facts drop column data`);
  }
}

/** Account usage by billing period: accounts' time zones, and each fact's subject attributes (app, environment, …). */
export class AccountPeriods1764600000000 implements MigrationInterface {
  name = 'AccountPeriods1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      alter table "${s}".usage_facts add column attributes jsonb not null default '{}'::jsonb;
      create table "${s}".accounts (tenant text not null, account_id text not null, timezone text not null, currency text not null, primary key (tenant, account_id));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".accounts; alter table "${s}".usage_facts drop column attributes`);
  }
}

/** Budgets, and the thresholds already crossed per period (each alert fires once, ever). */
export class CreateBudgets1764600000001 implements MigrationInterface {
  name = 'CreateBudgets1764600000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".budgets (tenant text not null, budget_id text not null, account_id text not null, definition jsonb not null,
        removed boolean not null default false, last_position bigint not null, primary key (tenant, budget_id));
      create table "${s}".budget_crossings (tenant text not null, budget_id text not null, period text not null, threshold integer not null,
        primary key (tenant, budget_id, period, threshold));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".budget_crossings, "${s}".budgets`);
  }
}

/**
 * Hourly meter buckets for the additive aggregations (SUM, COUNT, AVG): per (meter, account, hour, group values,
 * subject attributes) the number of events, of numeric readings and their sum — ~720 rows per account-month,
 * whatever the traffic. Kept by the rollup projection in ledger order; the meters it keeps them for, with it.
 */
export class MeterHours1764700000000 implements MigrationInterface {
  name = 'MeterHours1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".rollup_meters (tenant text not null, slug text not null, event_type text not null, value_path text[] not null,
        group_paths jsonb not null, live boolean not null, last_position bigint not null, primary key (tenant, slug));
      create table "${s}".meter_hours (
        tenant text not null, meter text not null, account_id text not null, hour timestamptz not null, groups jsonb not null, attributes jsonb not null,
        events bigint not null, readings bigint not null, total numeric not null,
        primary key (tenant, meter, account_id, hour, groups, attributes));`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".meter_hours, "${s}".rollup_meters`);
  }
}

/** The meter definitions the rollup projection keeps buckets for, whole (to read facts in the projection itself). */
export class RollupMeterDefinitions1764800000000 implements MigrationInterface {
  name = 'RollupMeterDefinitions1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".rollup_meters add column definition jsonb`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".rollup_meters drop column definition`);
  }
}

/** Billing periods may start on another day than the 1st (the account's billing anchor day). */
export class AccountAnchorDays1764900000000 implements MigrationInterface {
  name = 'AccountAnchorDays1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `alter table "${schemaOf(queryRunner)}".accounts add column anchor_day integer not null default 1`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`alter table "${schemaOf(queryRunner)}".accounts drop column anchor_day`);
  }
}

/**
 * Derived meter values (contracts/meters value-expression.ts) read in SQL: `meter_value(expression, data)`
 * evaluates an expression tree step by step by the same rules as the TypeScript evaluator (a field is decimal
 * text or not a value; x / 0 is not a value; a quotient that does not end is rounded once, half away from
 * zero, at 40 places — computed with integer division, so no step rounds on its own). The rollup projection
 * keeps each meter's parsed expression beside its value path.
 */
export class MeterValueExpressions1765000000000 implements MigrationInterface {
  name = 'MeterValueExpressions1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`alter table "${s}".rollup_meters add column value_expression jsonb`);
    // Time-weighted meters find each subject's level at a range's start by walking this index backwards.
    await queryRunner.query(
      `create index usage_facts_subject_time_idx on "${s}".usage_facts (tenant, event_type, subject, time) where not voided`,
    );
    // x ÷ y exact when the quotient ends, else rounded once, half away from zero, at 40 places; null for y = 0.
    await queryRunner.query(`
      create or replace function "${s}".exact_div(x numeric, y numeric) returns numeric
      language sql immutable parallel safe as $fn$
        select case when y <> 0 then
          (div(x * 1e40, y) + case when 2 * abs(x * 1e40 - div(x * 1e40, y) * y) >= abs(y) then sign(x) * sign(y) else 0 end) * 1e-40
        end
      $fn$`);
    await queryRunner.query(`
      create or replace function "${s}".meter_value(e jsonb, d jsonb) returns numeric
      language plpgsql immutable parallel safe as $fn$
      declare
        op text := e ->> 'op';
        x numeric;
        y numeric;
        t text;
        arg jsonb;
      begin
        if e ? 'n' then return (e ->> 'n')::numeric; end if;
        if e ? 'f' then
          t := d #>> array(select jsonb_array_elements_text(e -> 'f'));
          -- isDecimalText's rule (contracts/meters meter-reading.ts): bounded length and exponent.
          if t is null or t !~ '^(?=.{1,64}$)[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]{1,2})?$' then return null; end if;
          return t::numeric;
        end if;
        if op in ('min', 'max') then
          for arg in select value from jsonb_array_elements(e -> 'a') loop
            y := "${s}".meter_value(arg, d);
            if y is null then return null; end if;
            if x is null or (op = 'min' and y < x) or (op = 'max' and y > x) then x := y; end if;
          end loop;
          return x;
        end if;
        x := "${s}".meter_value(e -> 'a' -> 0, d);
        if x is null then return null; end if;
        if op = 'neg' then return -x; end if;
        if op = 'ceil' then return ceil(x); end if;
        if op = 'floor' then return floor(x); end if;
        y := "${s}".meter_value(e -> 'a' -> 1, d);
        if y is null then return null; end if;
        if op = '+' then return x + y; end if;
        if op = '-' then return x - y; end if;
        if op = '*' then return x * y; end if;
        if op = '/' then return "${s}".exact_div(x, y); end if;
        raise exception 'unknown value expression operation %', op;
      end $fn$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(
      `drop function "${s}".meter_value(jsonb, jsonb); drop function "${s}".exact_div(numeric, numeric)`,
    );
    await queryRunner.query(`drop index "${s}".usage_facts_subject_time_idx`);
    await queryRunner.query(`alter table "${s}".rollup_meters drop column value_expression`);
  }
}

/**
 * Which hours of an account's usage changed at which ledger position (usage recorded, moved, voided, amended), so
 * invoicing re-rates only the finalized periods whose usage changed after it last settled them, not every one
 * (docs/invoicing.md, "Re-rating only what changed"). `usage_changes_kept.from_position`: changes at or before it
 * were applied unmarked, so a question about them is answered "cannot say" — the rollups' checkpoint when the table
 * was made, raised to just before the first batch the marking code applies (`marking_started`): an older replica
 * may still apply usage, unmarked, between the migration and then.
 */
export class UsageChanges1765200000000 implements MigrationInterface {
  name = 'UsageChanges1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`
      create table "${s}".usage_changes (tenant text not null, account_id text not null, hour timestamptz not null,
        position bigint not null, primary key (tenant, account_id, hour));
      create index usage_changes_position_idx on "${s}".usage_changes (tenant, account_id, position) include (hour);
      create table "${s}".usage_changes_kept (only_row boolean primary key default true check (only_row), from_position bigint not null,
        marking_started boolean not null default false);`);
    const [{ checkpoints }] = (await queryRunner.query(
      `select to_regclass(format('%I.projection_checkpoints', $1::text)) is not null as checkpoints`,
      [s],
    )) as { checkpoints: boolean }[];
    const [applied] = checkpoints
      ? ((await queryRunner.query(
          `select max(position)::text as position from "${s}".projection_checkpoints where name in ('aggregation_usage_rollup', 'usage_rollup')`,
        )) as { position: string | null }[])
      : [];
    await queryRunner.query(`insert into "${s}".usage_changes_kept (from_position) values ($1)`, [
      applied?.position ?? '0',
    ]);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const s = schemaOf(queryRunner);
    await queryRunner.query(`drop table "${s}".usage_changes_kept, "${s}".usage_changes`);
  }
}

export const rollupMigrations = [
  CreateRollups1764100000001,
  UsageVoids1764300000001,
  UsageMoves1764400000001,
  CreateMeters1764500000000,
  UsageFactData1764500000001,
  AccountPeriods1764600000000,
  CreateBudgets1764600000001,
  MeterHours1764700000000,
  RollupMeterDefinitions1764800000000,
  AccountAnchorDays1764900000000,
  MeterValueExpressions1765000000000,
  UsageChanges1765200000000,
];
