/** Tables of the embedded, broker-less bus. Idempotent DDL. */
export const busSchemaSql = (schema: string): string => `
  create schema if not exists "${schema}";
  create table if not exists "${schema}".streams (
    name     text primary key,
    subjects text[] not null
  );
  create table if not exists "${schema}".messages (
    -- Assigned under the publish lock, so sequences commit in order and a consumer's
    -- "everything up to n was handed out" floor is never passed by a late commit.
    seq          bigint generated always as identity primary key,
    stream       text        not null,
    subject      text        not null,
    msg_id       text        not null,
    data         bytea       not null,
    headers      jsonb       not null default '{}'::jsonb,
    published_at timestamptz not null default now(),
    constraint messages_msg_id_key unique (stream, msg_id)
  );
  create index if not exists messages_stream_seq_idx on "${schema}".messages (stream, seq);
  create table if not exists "${schema}".deliveries (
    durable      text        not null,
    seq          bigint      not null,
    delivered    integer     not null,
    visible_at   timestamptz not null,
    acked        boolean     not null default false,
    primary key (durable, seq)
  );
  create index if not exists deliveries_unacked_idx on "${schema}".deliveries (durable, seq) where not acked;
`;
