/** DDL of the Postgres ledger. Idempotent: run at every start. */
export const ledgerSchemaSql = (schema: string): string => `
  create schema if not exists "${schema}";
  create table if not exists "${schema}".events (
    -- Assigned while the append lock is held, so positions become visible in commit order:
    -- a reader that has seen position n will never later discover an event below n.
    global_position bigint generated always as identity primary key,
    stream_name     text        not null,
    stream_revision bigint      not null,
    event_id        uuid        not null,
    event_type      text        not null,
    data            jsonb       not null,
    metadata        jsonb       not null default '{}'::jsonb,
    recorded_at     timestamptz not null default now(),
    constraint events_event_id_key unique (event_id),
    constraint events_stream_revision_key unique (stream_name, stream_revision)
  );
  create index if not exists events_type_position_idx on "${schema}".events (event_type, global_position);
  -- Rows pruned from the hot ledger after their archive file was verified (docs/storage.md): their ids, so an
  -- event id stays appendable once only, and each stream's last pruned revision, so revisions go on from it.
  create table if not exists "${schema}".pruned_event_ids (event_id uuid primary key);
  create table if not exists "${schema}".pruned_streams (stream_name text primary key, last_revision bigint not null);
  -- The highest position pruned: a read of the hot ledger from below it would miss rows (LedgerPrunedError).
  create table if not exists "${schema}".pruned_through (one boolean primary key default true check (one), through bigint not null);
  -- Nothing ever updates a ledger row, and nothing deletes one but the archive's pruning, which says so for
  -- its own transaction (set local tally.ledger_prune = 'on') after checking the rows against their file.
  create or replace function "${schema}".refuse_change() returns trigger language plpgsql as
    $$ begin
      if tg_op = 'DELETE' and current_setting('tally.ledger_prune', true) = 'on' then return old; end if;
      raise exception 'the ledger is append-only (% refused)', tg_op;
    end $$;
  drop trigger if exists events_append_only on "${schema}".events;
  create trigger events_append_only before update or delete on "${schema}".events
    for each row execute function "${schema}".refuse_change();
`;
