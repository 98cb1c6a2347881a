-- Tables shaped like what a milestone update writes through Marten (BENCHMARKS.md 1, twelfth session): a stream row
-- locked and its version moved, an event appended (with its foreign key to the stream), the project's snapshot
-- (about 1.4 KB of JSON, pages filled to 70 %) rewritten, a receipt inserted. 64 streams: one per client. And the
-- table of the raw limit's one-row INSERT (raw.sql).
drop table if exists t_raw, t_rcpt, t_snap, t_ev, t_streams;
create table t_streams (id int primary key, version bigint not null, ts timestamptz);
create table t_ev (seq bigserial primary key, stream int not null references t_streams (id), version bigint not null,
                   data jsonb not null, ts timestamptz default now(), unique (stream, version));
create table t_snap (id int primary key, data jsonb not null, ver bigint) with (fillfactor = 70);
create table t_rcpt (id text primary key, data jsonb not null);
insert into t_streams select g, 0, now() from generate_series(1, 64) g;
insert into t_snap select g, jsonb_build_object('name', repeat('x', 1300), 'p', 0), 0 from generate_series(1, 64) g;
create table t_raw (id bigserial primary key, stream int not null, data jsonb not null, at timestamptz not null default now());
