#!/usr/bin/env bash
# Proves docker-compose.yml: brings the stack up, waits until every service is healthy and the demo data
# is loaded, asks the gateway for the rollup and the maturity, then takes the stack down (volumes too).
# Where Microsoft's images cannot be pulled (no registry), it packs self-contained publishes onto a
# runtime base image built here from Debian packages (deploy/prebuilt.Dockerfile).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { printf '[compose-check] %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null; }
project=regeneration-check
export GATEWAY_PORT=${GATEWAY_PORT:-18080} PROJECTS_PORT=${PROJECTS_PORT:-15101} BUDGET_PORT=${BUDGET_PORT:-15102} KPI_PORT=${KPI_PORT:-15103}

ensure=$(bash scripts/ensure-postgres.sh)
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
export POSTGRES_IMAGE=$(sed -n 's/^image=//p' <<<"$ensure")
if docker compose version >/dev/null 2>&1; then compose=(docker compose); else
  command -v docker-compose >/dev/null 2>&1 || apt_install docker-compose
  compose=(docker-compose)
fi

if ! timeout 20 docker pull -q mcr.microsoft.com/dotnet/aspnet:10.0 >/dev/null 2>&1; then
  base="regeneration/runtime-deps:bookworm"
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    log "no image registry: building $base from Debian packages"
    command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
    rootfs=$(mktemp -d /tmp/regeneration-runtime.XXXXXX)
    as_root debootstrap --variant=minbase --include=ca-certificates,libssl3,zlib1g,libstdc++6,tzdata bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
    as_root tar -C "$rootfs" -c . | docker import -c 'ENV DOTNET_RUNNING_IN_CONTAINER=true' - "$base" >/dev/null
    as_root rm -rf "$rootfs"
  fi
  log "publishing self-contained binaries"
  for entry in Projects:services/Projects Budget:services/Budget Kpi:services/Kpi Gateway:gateway DemoData:tools/DemoData; do
    name=${entry%%:*}; dir=${entry#*:}
    dotnet publish "$dir" -c Release -r linux-x64 --self-contained -o "artifacts/publish/Regeneration.$name" -nologo -v quiet >/dev/null
  done
  export DOCKERFILE=deploy/prebuilt.Dockerfile RUNTIME_IMAGE="$base"
fi

mkdir -p artifacts
output="$root/artifacts/compose-check.log"
# Down, and the images each build leaves untagged removed (ours only): a machine that runs the tests often filled its
# disk with them (350 images, 44 GB).
cleanup() {
  "${compose[@]}" -p "$project" down -v --remove-orphans >>"$output" 2>&1 || true
  docker image prune -f --filter "label=org.regeneration.image=true" >>"$output" 2>&1 || true
}
trap cleanup EXIT
log "building and starting the stack (${compose[*]}; output in artifacts/compose-check.log)"
"${compose[@]}" -p "$project" build >"$output" 2>&1 || { tail -30 "$output"; exit 1; }
"${compose[@]}" -p "$project" up -d >>"$output" 2>&1 || { tail -30 "$output"; exit 1; }

log "waiting for health and the demo data"
for _ in $(seq 1 180); do
  loader=$(docker ps -a --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=demo-data" --format '{{.Status}}')
  unhealthy=$(docker ps --filter "label=com.docker.compose.project=$project" --format '{{.Names}} {{.Status}}' | grep -v demo-data | grep -cv '(healthy)' || true)
  if [[ "$loader" == Exited* && "$unhealthy" == 0 ]]; then break; fi
  sleep 1
done
docker ps -a --filter "label=com.docker.compose.project=$project" --format '  {{.Names}}: {{.Status}}'
[[ "$loader" == "Exited (0)"* ]] || { "${compose[@]}" -p "$project" logs --tail 40 2>&1; log "FAILED: the demo data did not load"; exit 1; }
[[ "$unhealthy" == 0 ]] || { log "FAILED: a service is not healthy"; exit 1; }

token=$(curl -sf "http://127.0.0.1:$GATEWAY_PORT/dev/tokens" | python3 -c 'import json,sys; print(next(u["token"] for u in json.load(sys.stdin)["users"] if u["role"]=="executive"))')
rollup=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$GATEWAY_PORT/api/v1/kpis?refresh=true")
maturity=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$GATEWAY_PORT/api/v1/maturity")
summary=$(python3 - "$rollup" "$maturity" <<'PY'
import json, sys
rollup, maturity = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert not rollup["missing"], rollup["missing"]
assert len(rollup["projects"]) >= 12 and rollup["budget"]["budgetCount"] >= 12, "demo portfolio incomplete"
print(f'{len(rollup["projects"])} projects in the rollup, budget spent {rollup["budget"]["totals"]["spent"]:,} won, maturity level {maturity["overallLevel"]}')
PY
)
curl -sf "http://127.0.0.1:$GATEWAY_PORT/" | grep -q "Regeneration" || { log "FAILED: the dashboard is not served"; exit 1; }

# Operations, as README's "Rebuilding read models" says: the service stopped, its image run once with --rebuild
# (the compose file's configuration), started again. The snapshots must come back exactly as the commands wrote them.
snapshots() { "${compose[@]}" -p "$project" exec -T postgres psql -U postgres -d regeneration -Atc \
  "select count(*) || ' ' || md5(string_agg(id::text || ' ' || mt_version || ' ' || data::text, ',' order by id)) from projects.mt_doc_project"; }
before=$(snapshots)
log "rebuilding the projects' snapshots ($before): the service stopped, its image run once with --rebuild"
"${compose[@]}" -p "$project" stop projects >>"$output" 2>&1
rebuilt=$("${compose[@]}" -p "$project" run -T --rm --no-deps projects --rebuild 2>>"$output") || { echo "$rebuilt" | tail -20; log "FAILED: --rebuild"; exit 1; }
grep "Rebuilt Project from the events" <<<"$rebuilt" || { echo "$rebuilt" | tail -20; log "FAILED: --rebuild did not say what it rebuilt"; exit 1; }
[[ "$(snapshots)" == "$before" ]] || { log "FAILED: the rebuilt snapshots differ from the ones the commands wrote ($(snapshots))"; exit 1; }
"${compose[@]}" -p "$project" start projects >>"$output" 2>&1
container=$("${compose[@]}" -p "$project" ps -q projects)
for _ in $(seq 1 60); do [[ "$(docker inspect -f '{{.State.Health.Status}}' "$container")" == healthy ]] && break; sleep 1; done
[[ "$(docker inspect -f '{{.State.Health.Status}}' "$container")" == healthy ]] || { log "FAILED: projects not healthy after the rebuild"; exit 1; }
curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$GATEWAY_PORT/api/v1/maturity" >/dev/null || { log "FAILED: no maturity after the rebuild"; exit 1; }

log "passed: the stack is healthy and serves the rollup ($summary) and the dashboard; --rebuild gave back the projects' snapshots as written"
