#!/bin/sh
# Entrypoint of the locally built PostgreSQL image: the parts of the official image's contract that
# Testcontainers and docker-compose use (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB, PGDATA).
set -eu
: "${POSTGRES_USER:=postgres}" "${POSTGRES_PASSWORD:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"
bin=/usr/lib/postgresql/15/bin
mkdir -p "$PGDATA" /var/run/postgresql
chown -R postgres:postgres "$PGDATA" /var/run/postgresql
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile=$(mktemp); printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"; chown postgres "$pwfile"
  su postgres -c "$bin/initdb -D '$PGDATA' --encoding=UTF8 --locale=C -U '$POSTGRES_USER' --pwfile='$pwfile' --auth-host=scram-sha-256 --auth-local=trust" >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != "postgres" ]; then
    su postgres -c "$bin/postgres -D '$PGDATA' -c listen_addresses='' " &
    until su postgres -c "$bin/pg_isready -q -h /var/run/postgresql"; do sleep 0.2; done
    su postgres -c "/usr/bin/psql -q -h /var/run/postgresql -U '$POSTGRES_USER' -d postgres -c 'CREATE DATABASE \"$POSTGRES_DB\"'"
    su postgres -c "$bin/pg_ctl -D '$PGDATA' -m fast -w stop" >/dev/null
  fi
fi
exec su postgres -c "exec $bin/postgres -D '$PGDATA' -c listen_addresses='*' $*"
