-- Schemas and operational tables of the platform. Idempotent: run by `totalplace up` and by every
-- pipeline entry point, so an external PostgreSQL needs no manual setup beyond an empty database.
create schema if not exists landing;      -- one unlogged table per file being loaded, dropped after
create schema if not exists raw;          -- typed, published rows: raw.<agency>__<feed>
create schema if not exists quarantine;   -- rows of files that failed the gate, kept for the sender's report
create schema if not exists ops;          -- the file ledger and other bookkeeping
create schema if not exists reference;    -- dbt seeds (ONS lookups, population)
create schema if not exists staging;      -- dbt staging views
create schema if not exists intermediate; -- dbt intermediate models
create schema if not exists marts;        -- dbt marts analysts query

-- The file ledger is a public interface: its name, these columns and the status words are stable.
create table if not exists ops.file_ledger (
    file_id      bigint generated always as identity primary key,
    agency       text        not null,
    feed         text        not null,
    name         text        not null,
    sha256       text        not null check (sha256 ~ '^[0-9a-f]{64}$'),
    bytes        bigint      not null check (bytes >= 0),
    rows         bigint,
    status       text        not null default 'received'
                 check (status in ('received', 'loading', 'validating', 'published',
                                   'quarantined', 'duplicate', 'superseded', 'failed')),
    error        text,
    report       jsonb,
    duplicate_of bigint references ops.file_ledger (file_id),
    received_at  timestamptz not null default now(),
    finished_at  timestamptz
);

-- "A file is never loaded twice": at most one published file per feed and content hash,
-- enforced by the database rather than by a check-then-act in Python.
create unique index if not exists file_ledger_one_publish_per_hash
    on ops.file_ledger (agency, feed, sha256) where status = 'published';
create index if not exists file_ledger_feed_status on ops.file_ledger (agency, feed, status);
-- the partner body that sent the file (partners.yml); every published row repeats it as _sent_by
alter table ops.file_ledger add column if not exists sent_by text;

-- Every model and test of every warehouse build, as dbt reported it (the transform DAG's per-model status).
create table if not exists ops.dbt_results (
    run_id        text        not null,
    layer         text        not null,
    unique_id     text        not null,
    resource_type text        not null,
    status        text        not null,
    rows_affected bigint,
    seconds       double precision,
    message       text,
    finished_at   timestamptz not null default now()
);
create index if not exists dbt_results_run on ops.dbt_results (run_id);
