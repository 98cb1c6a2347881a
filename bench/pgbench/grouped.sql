-- Eight milestone updates in one transaction, as the service's group commit writes them (7-8 commands a transaction
-- flat out), the whole transaction sent in one round trip (a pipeline; run with -M prepared and -c 8: each client on
-- its own 8 streams). Cheaper SQL than Marten's (no append function; the snapshot changed in place, not sent whole):
-- what PostgreSQL itself needs for that shape (BENCHMARKS.md 1, fifteenth session).
\set s1 :client_id * 8 + 1
\set s2 :client_id * 8 + 2
\set s3 :client_id * 8 + 3
\set s4 :client_id * 8 + 4
\set s5 :client_id * 8 + 5
\set s6 :client_id * 8 + 6
\set s7 :client_id * 8 + 7
\set s8 :client_id * 8 + 8
\startpipeline
BEGIN;
SELECT version FROM t_streams WHERE id = :s1 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s1, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s1;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s1;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s1;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s2 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s2, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s2;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s2;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s2;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s3 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s3, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s3;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s3;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s3;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s4 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s4, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s4;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s4;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s4;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s5 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s5, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s5;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s5;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s5;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s6 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s6, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s6;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s6;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s6;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s7 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s7, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s7;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s7;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s7;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
SELECT version FROM t_streams WHERE id = :s8 FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :s8, version + 1, '{"milestone": "8b0f5c2e-1111-2222-3333-444455556666","progress": 42,"reason": "benchmark","forecast": null}' FROM t_streams WHERE id = :s8;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :s8;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :s8;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream": "x","version": 1,"hash": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
COMMIT;
\endpipeline
