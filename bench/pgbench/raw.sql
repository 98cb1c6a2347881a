-- The raw limit's transaction for pgbench: a one-row INSERT on its own (BENCHMARKS.md 1, fifteenth session). The JSON
-- has a space after each colon: with -M prepared, pgbench would read ":42" as a variable.
\set id :client_id + 1
INSERT INTO t_raw (stream, data) VALUES (:id, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}');
