-- Schemas and operational tables of the platform. Idempotent: run by `totalplace up` and by every
-- pipeline entry point, so an external PostgreSQL needs no manual setup beyond an empty database.
create schema if not exists landing;      -- one unlogged table per file being loaded, dropped after
create schema if not exists raw;          -- typed, published rows: raw.<agency>__<feed>
create schema if not exists quarantine;   -- rows of files that failed the gate, kept for the sender's report
create schema if not exists history;      -- rows of superseded files (replaced by a corrected re-submission)
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
-- the data-sharing agreement (agreements.yml) the file was accepted under; rows repeat it as _agreement
alter table ops.file_ledger add column if not exists agreement text;
-- when the retention DAG deleted the file's bytes and rows (its hash, counts and status stay)
alter table ops.file_ledger add column if not exists purged_at timestamptz;
-- the later file that replaced a superseded one (a corrected re-submission of the same period)
alter table ops.file_ledger add column if not exists superseded_by bigint references ops.file_ledger (file_id);
-- who published the data (the body named in the file, or its contract's publisher) - not always the
-- body whose account sent it (sent_by): the council's account sends MHCLG's returns
alter table ops.file_ledger add column if not exists publisher text;
-- the file was made by the platform's own generator (the demo's synthetic extracts), not received data
alter table ops.file_ledger add column if not exists synthetic boolean not null default false;
-- the SFTP account (partners.yml) the file came from: where its reports go, and what decides sent_by
alter table ops.file_ledger add column if not exists account text;

-- Every function of the platform pins its search_path to pg_catalog, then pg_temp (PostgreSQL
-- searches pg_temp first unless it is named, and a caller's temporary view called pg_roles once
-- answered the row-level security question for him), and names the platform's own objects by schema.

-- Person identifiers recognised by their values, for the intake check on undeclared columns and
-- the privacy scan of the warehouse. An NHS number: ten digits (spaces or dashes allowed between
-- the 3-3-4 groups) whose last is the Modulus 11 check digit of the first nine.
create or replace function ops.is_nhs_number(value text) returns boolean
language sql immutable parallel safe set search_path = pg_catalog, pg_temp as $$
    select case when d ~ '^[0-9]{10}$' then
        (11 - ((substr(d, 1, 1)::int * 10 + substr(d, 2, 1)::int * 9 + substr(d, 3, 1)::int * 8
              + substr(d, 4, 1)::int * 7 + substr(d, 5, 1)::int * 6 + substr(d, 6, 1)::int * 5
              + substr(d, 7, 1)::int * 4 + substr(d, 8, 1)::int * 3 + substr(d, 9, 1)::int * 2) % 11)) % 11
        = substr(d, 10, 1)::int
    else false end
    from (select case when value ~ '^\s*[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}\s*$'
                      then regexp_replace(value, '[^0-9]', '', 'g') end as d) as v
$$;
-- A full UK postcode (outward and inward code), with or without the space.
create or replace function ops.is_full_postcode(value text) returns boolean
language sql immutable parallel safe set search_path = pg_catalog, pg_temp as $$
    select upper(regexp_replace(coalesce(value, ''), '\s', '', 'g')) ~ '^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$'
$$;

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

-- Every published warehouse build: the next build rebuilds what lies downstream of the feeds whose
-- published files differ from this build's (totalplace.build_selection); a different project_hash
-- (the dbt project changed) means a full build.
create table if not exists ops.warehouse_builds (
    run_id          text        not null,
    started_at      timestamptz not null,
    published_at    timestamptz not null default now(),
    project_hash    text        not null,
    sources         text[],
    reason          text,
    published_files bigint[]    not null
);
comment on column ops.warehouse_builds.sources is 'dbt sources whose descendants were rebuilt; null: the whole warehouse';

-- Partner bodies' roles and names (partners.yml), written by access.setup() from the registry: row-level
-- security shows a login the rows whose sender (_sent_by, the ledger's sent_by) is a body whose role it holds.
create table if not exists ops.partner_bodies (
    role_name text primary key,
    body text not null unique,
    agency text not null
);

-- Row-level security, part one: rows every reader of the table may see whoever sent them. Reference
-- data is open to all readers; the pipeline roles see everything. (A body's own rows: readable_bodies.)
-- Its name is kept from when an agency type's role saw all that type's rows: every policy calls it.
create or replace function ops.may_read_agency(row_agency text) returns boolean
language sql stable parallel safe set search_path = pg_catalog, pg_temp as $$
    select row_agency = 'reference'
        or exists (select 1 from pg_catalog.pg_roles r
                   where r.rolname in ('loader', 'transformer')
                     and pg_catalog.pg_has_role(current_user, r.oid, 'member'))
$$;

-- Row-level security, part two: the bodies whose rows the current login may see - those whose role it
-- holds (a body's own login, or a person granted it). An agency type's role alone holds none.
create or replace function ops.readable_bodies() returns text[]
language sql stable parallel safe set search_path = pg_catalog, pg_temp as $$
    select coalesce(pg_catalog.array_agg(b.body), '{}'::text[])
    from ops.partner_bodies b join pg_catalog.pg_roles r on r.rolname = b.role_name
    where pg_catalog.pg_has_role(current_user, r.oid, 'member')
$$;

-- A partner's own files of the ledger (the ledger itself is not granted to partners: EXPLAIN ANALYZE
-- of a query on it counted the rows row-level security removed - another body's files). A function
-- is planned as one opaque scan. The login's own membership decides (session_user: a security definer
-- runs as its owner).
create or replace function ops.partner_files() returns setof ops.file_ledger
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select l.* from ops.file_ledger l
    where l.agency <> 'reference' and l.sent_by in (
        select b.body from ops.partner_bodies b join pg_catalog.pg_roles r on r.rolname = b.role_name
        where pg_catalog.pg_has_role(session_user, r.oid, 'member'))
$$;

-- Readers' sessions that outlive their limits: a login may SET its own statement and idle timeouts
-- off, and then hold a lock publishing needs for as long as it likes (or keep a transaction open with
-- a short statement every second). Publishing (warehouse.with_lock_retries) ends, when a lock is not
-- granted, the sessions of readers (members of analyst or partner, not of the pipelines, not
-- superusers) whose transaction is older than the readers' own limit - the analyst role's
-- idle_in_transaction_session_timeout in this database (setup() sets it; 300 s when unset), so no
-- caller can ask for a shorter one. Needs an owner that may signal other sessions (a superuser, or a
-- member of pg_signal_backend); returns how many it ended.
drop function if exists ops.end_overdue_readers(integer);
create or replace function ops.end_overdue_readers() returns integer
language sql volatile security definer set search_path = pg_catalog, pg_temp as $$
    with setting as (
        select coalesce((select pg_catalog.substring(c, '^idle_in_transaction_session_timeout=(.*)$')::interval
                         from pg_catalog.pg_db_role_setting s
                         join pg_catalog.pg_roles r on r.oid = s.setrole and r.rolname = 'analyst'
                         cross join lateral pg_catalog.unnest(s.setconfig) as c
                         where s.setdatabase = (select oid from pg_catalog.pg_database
                                                where datname = pg_catalog.current_database())
                           and c like 'idle_in_transaction_session_timeout=%'),
                        interval '300 seconds') as reader_limit
    )
    select count(*)::integer from (
        select pg_catalog.pg_terminate_backend(a.pid)
        from pg_catalog.pg_stat_activity a
        join pg_catalog.pg_roles r on r.rolname = a.usename
        cross join setting
        where a.datname = pg_catalog.current_database() and a.pid <> pg_catalog.pg_backend_pid()
          and not r.rolsuper
          and not pg_catalog.pg_has_role(r.oid, 'loader', 'member')
          and not pg_catalog.pg_has_role(r.oid, 'transformer', 'member')
          and (pg_catalog.pg_has_role(r.oid, 'analyst', 'member') or pg_catalog.pg_has_role(r.oid, 'partner', 'member'))
          and a.xact_start < pg_catalog.now() - setting.reader_limit
    ) as ended
$$;

-- Who did what: loads (from the ledger, by trigger: the actor is the sending body), grants, revokes,
-- purges and every query run through `totalplace sql` (the actor is the database login that ran it).
create table if not exists ops.audit_log (
    audit_id  bigint generated always as identity primary key,
    at        timestamptz not null default now(),
    actor     text        not null default session_user,
    db_role   text        not null default current_user,
    action    text        not null check (action in ('load', 'grant', 'revoke', 'query', 'purge')),
    target    text,
    detail    jsonb
);

create or replace function ops.audit_file_outcome() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if new.status is distinct from old.status and new.status in ('published', 'quarantined', 'duplicate') then
        insert into ops.audit_log (actor, db_role, action, target, detail)
        values (coalesce(new.sent_by, session_user), session_user, 'load', new.agency || '/' || new.feed,
                jsonb_build_object('file_id', new.file_id, 'name', new.name, 'status', new.status,
                                   'rows', new.rows, 'agreement', new.agreement));
    end if;
    return new;
end
$$;
drop trigger if exists file_outcome_audited on ops.file_ledger;
create trigger file_outcome_audited after update of status on ops.file_ledger
    for each row execute function ops.audit_file_outcome();
