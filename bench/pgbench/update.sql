-- One milestone update's transaction, in PostgreSQL's own benchmark client: each client on its own stream.
\set id :client_id + 1
BEGIN;
SELECT version FROM t_streams WHERE id = :id FOR UPDATE;
INSERT INTO t_ev (stream, version, data) SELECT :id, version + 1, '{"milestone":"8b0f5c2e-1111-2222-3333-444455556666","progress":42,"reason":"benchmark","forecast":null}' FROM t_streams WHERE id = :id;
UPDATE t_streams SET version = version + 1, ts = now() WHERE id = :id;
UPDATE t_snap SET data = jsonb_set(data, '{p}', to_jsonb(random())), ver = ver + 1 WHERE id = :id;
INSERT INTO t_rcpt VALUES (md5(random()::text || clock_timestamp()::text) || '/req', '{"stream":"x","version":1,"hash":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}');
COMMIT;
