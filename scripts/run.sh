#!/usr/bin/env bash
# Brings up Regeneration on this machine with the demo portfolio: PostgreSQL (a Docker container with
# a named volume where Docker works — installed and started if needed — else the local PostgreSQL
# server binaries), the services, and the demo data (loaded once: a second run writes nothing).
# Ctrl-C stops everything; the data stays for the next run.
#
#   REGENERATION_POSTGRES=<connection string>   use an existing PostgreSQL instead
#   REGENERATION_NO_DOCKER=1                    use the local PostgreSQL server binaries even where Docker works
#   REGENERATION_PG_PORT (default 55432)         the port of the PostgreSQL this script starts
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
state="$root/.regeneration"
mkdir -p "$state/logs"
pg_port="${REGENERATION_PG_PORT:-55432}"
pg_password="regeneration-dev"
pids=()
stop_postgres=()
log() { printf '[run] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null; }

cleanup() {
  trap - INT TERM EXIT
  log "stopping..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ ${#stop_postgres[@]} -gt 0 ]; then "${stop_postgres[@]}" >/dev/null 2>&1 || true; fi
  log "stopped (data kept for the next run)"
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

command -v dotnet >/dev/null || { echo "The .NET 10 SDK is required (https://dot.net)"; exit 1; }
command -v curl >/dev/null || apt_install curl
command -v python3 >/dev/null || apt_install python3

for port in 5101 5102 5103 8080; do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is already in use (is Regeneration already running?); stop that first."; exit 1
  fi
done

# ---- PostgreSQL ----
if [ -n "${REGENERATION_POSTGRES:-}" ]; then
  connection="$REGENERATION_POSTGRES"
  log "PostgreSQL: the server in REGENERATION_POSTGRES"
elif [ "${REGENERATION_NO_DOCKER:-}" != 1 ] && ensure=$(bash scripts/ensure-postgres.sh 2>"$state/logs/ensure-postgres.log"); then
  export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
  image=$(sed -n 's/^image=//p' <<<"$ensure")
  if docker container inspect regeneration-postgres >/dev/null 2>&1; then
    docker start regeneration-postgres >/dev/null
  else
    docker run -d --name regeneration-postgres -v regeneration-pgdata:/var/lib/postgresql/data \
      -e POSTGRES_PASSWORD="$pg_password" -e POSTGRES_DB=regeneration -p "127.0.0.1:$pg_port:5432" "$image" >/dev/null
  fi
  stop_postgres=(docker stop regeneration-postgres)
  for i in $(seq 1 120); do
    docker exec regeneration-postgres pg_isready -q -h 127.0.0.1 -U postgres 2>/dev/null && break
    [ "$(docker inspect -f '{{.State.Running}}' regeneration-postgres)" = true ] && [ "$i" -lt 120 ] \
      || { docker logs --tail 20 regeneration-postgres; log "PostgreSQL did not start (a volume from another PostgreSQL version? docker volume rm regeneration-pgdata)"; exit 1; }
    sleep 0.5
  done
  connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=$pg_password;Database=regeneration"
  log "PostgreSQL: Docker container regeneration-postgres ($image), volume regeneration-pgdata"
else
  if [ "${REGENERATION_NO_DOCKER:-}" = 1 ]; then log "REGENERATION_NO_DOCKER=1: using the local PostgreSQL binaries"
  else log "Docker is not usable here ($(tail -1 "$state/logs/ensure-postgres.log")); using the local PostgreSQL binaries"; fi
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then apt_install postgresql; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); fi
  data="$state/pgdata"
  as_pg=(); if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); chown postgres "$state"; fi
  if [ ! -s "$data/PG_VERSION" ]; then
    mkdir -p "$data"; [ "$(id -u)" = 0 ] && chown postgres "$data"
    echo "$pg_password" > "$state/pgpass"; [ "$(id -u)" = 0 ] && chown postgres "$state/pgpass"
    "${as_pg[@]}" "$bin/initdb" -D "$data" -U postgres --pwfile="$state/pgpass" --auth=scram-sha-256 >/dev/null
    rm -f "$state/pgpass"
  fi
  "${as_pg[@]}" "$bin/pg_ctl" -D "$data" -l "$state/postgres.log" -w \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k /tmp" start >/dev/null
  stop_postgres=("${as_pg[@]}" "$bin/pg_ctl" -D "$data" -m fast -w stop)
  PGPASSWORD="$pg_password" psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -tAc \
    "select 1 from pg_database where datname='regeneration'" | grep -q 1 \
    || PGPASSWORD="$pg_password" psql -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -qc "create database regeneration"
  connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Password=$pg_password;Database=regeneration"
  log "PostgreSQL: local server, data in $data"
fi

# ---- Build ----
log "building (Release)..."
dotnet build Regeneration.sln -c Release -nologo -v quiet >"$state/logs/build.log" 2>&1 \
  || { tail -30 "$state/logs/build.log"; exit 1; }

# ---- Services ----
start_service() { # name project port [settings...]
  local dll="$root/services/$2/bin/Release/net10.0/Regeneration.$2.dll"
  dotnet "$dll" --urls "http://127.0.0.1:$3" --environment "${REGENERATION_ENVIRONMENT:-Development}" \
    --ConnectionStrings:Postgres="$connection" "${@:4}" \
    >"$state/logs/$1.log" 2>&1 &
  pids+=($!)
}
wait_healthy() { # name port [curl options]
  for _ in $(seq 1 120); do
    curl -sf "${@:3}" "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  log "$1 did not become healthy; its log:"; tail -30 "$state/logs/$1.log"; exit 1
}
start_service projects Projects 5101
start_service budget Budget 5102 --Services:Projects=http://127.0.0.1:5101
start_service kpi Kpi 5103 --Services:Projects=http://127.0.0.1:5101 --Services:Budget=http://127.0.0.1:5102
dotnet "$root/gateway/bin/Release/net10.0/Regeneration.Gateway.dll" --urls "http://127.0.0.1:8080" \
  --environment "${REGENERATION_ENVIRONMENT:-Development}" >"$state/logs/gateway.log" 2>&1 &
pids+=($!)
wait_healthy projects 5101 --http2-prior-knowledge
wait_healthy budget 5102 --http2-prior-knowledge
wait_healthy kpi 5103 --http2-prior-knowledge
wait_healthy gateway 8080

# ---- Demo data ----
dotnet "$root/tools/DemoData/bin/Release/net10.0/Regeneration.DemoData.dll" http://127.0.0.1:5101 http://127.0.0.1:5102 http://127.0.0.1:5103 \
  | sed 's/^/[run] /'

tokens=$(curl -sf http://127.0.0.1:8080/dev/tokens | python3 -c '
import json, sys
for u in json.load(sys.stdin)["users"]:
    print("  %-26s %-16s %s" % (u["user"], u["role"], u["token"]))' || echo "  (not in Development: no demo tokens)")

cat <<INFO

Regeneration is running.
  Executive dashboard:           http://127.0.0.1:8080/   (sign in as a demo user, top right)
  REST API (gateway):            http://127.0.0.1:8080/api/v1   e.g. curl -H "Authorization: Bearer <token>" http://127.0.0.1:8080/api/v1/maturity
  OpenAPI document:              http://127.0.0.1:8080/openapi/v1.json
  Interactive API page:          http://127.0.0.1:8080/docs
  Projects service (gRPC, h2c):  127.0.0.1:5101   health: curl --http2-prior-knowledge http://127.0.0.1:5101/healthz
  Budget service (gRPC, h2c):    127.0.0.1:5102   health: curl --http2-prior-knowledge http://127.0.0.1:5102/healthz
  KPI service (gRPC, h2c):       127.0.0.1:5103   health: curl --http2-prior-knowledge http://127.0.0.1:5103/healthz
  gRPC reflection is on, e.g.:   grpcurl -plaintext 127.0.0.1:5101 list
  PostgreSQL:                    $connection
  Logs:                          $state/logs

Demo users' tokens (Development only, valid 12 hours):
$tokens

Press Ctrl-C to stop.
INFO
wait -n "${pids[@]}" || true
log "a service exited; see $state/logs"
