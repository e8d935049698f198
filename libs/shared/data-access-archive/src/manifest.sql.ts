/** DDL of the archive manifest. Idempotent: run at every start (as the ledger's own schema is). */
export const manifestSchemaSql = (schema: string): string => `
  create schema if not exists "${schema}";
  create table if not exists "${schema}".archive_segments (
    tenant        text        not null,
    category      text        not null,
    month         text        not null check (month ~ '^[0-9]{4}-[0-9]{2}$'),
    -- Global positions of the file's first and last row (inclusive); the rows between of other
    -- partitions are in those partitions' files of the same seal.
    from_position bigint      not null,
    to_position   bigint      not null check (to_position >= from_position),
    row_count     bigint      not null check (row_count > 0),
    sha256        text        not null check (sha256 ~ '^[0-9a-f]{64}$'),
    object_key    text        not null unique,
    sealed_at     timestamptz not null default now(),
    constraint archive_segments_pkey primary key (tenant, category, month, from_position)
  );
  create index if not exists archive_segments_to_position_idx on "${schema}".archive_segments (to_position);
  -- The event types a file holds (a reader interested in others skips it without fetching it), and when its
  -- rows left the hot ledger (pruned: from then on the file is their only copy). Added after the first slice.
  alter table "${schema}".archive_segments add column if not exists event_types text[],
    add column if not exists pruned_at timestamptz;
`;
